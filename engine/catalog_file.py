"""The catalog file (processes/catalog.toml): reading and validating the service items.

Each item says who handles it, on what legal basis, with which materials, within which limits and by which BPMN
process. Items are published as the service guide (办事指南), so the file is validated strictly on load: an
unknown field, a malformed limit or a promised limit (承诺时限) longer than the statutory one (法定时限) is
refused with the file, the item code, the field and the reason. `engine.catalog` stores the items and starts
cases from them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.errors import InvalidData

KINDS = ("license", "penalty", "review_appeal", "other")
HANDLING = ("instant", "promised")
# 行政许可法 Art 45 lists the procedures whose time is not counted; `supplement` and `suspension` (行政复议法
# Art 39) are the other pauses the procedures know.
CLOCK_STOPS = ("hearing", "tender", "auction", "inspection", "testing", "quarantine", "appraisal",
               "expert_review", "supplement", "suspension")  # fmt: skip
# The article a limit comes from when the item names none, by kind of item (and for joint review).
DEFAULT_LIMIT_BASIS = {
    "license": "《中华人民共和国行政许可法》第四十二条",
    "joint_review": "《中华人民共和国行政许可法》第二十六条、第四十二条第二款",
    "penalty": "《中华人民共和国行政处罚法》第六十条",
    "review_appeal": "《中华人民共和国行政复议法》第六十二条",
    "other": "办事指南",
}

_LIMIT = re.compile(r"^(\d{1,3})(wd|d)$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_DEPARTMENT = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_PREFIX = re.compile(r"^[A-Z0-9]{1,16}$")
_FIELDS = {
    "code", "name", "kind", "department", "legal_basis", "conditions", "materials", "handling",
    "statutory_limit", "promised_limit", "limit_basis", "stage_limits", "clock_stops", "fee", "process",
    "co_departments", "no_reply_consent", "receipt_prefix", "windows",
}  # fmt: skip
_REQUIRED = ("code", "name", "kind", "department", "legal_basis", "handling", "statutory_limit", "promised_limit",
             "process")  # fmt: skip


class CatalogError(InvalidData):
    """A catalog file or item that cannot be published; the message names file, item, field and why."""


@dataclass(frozen=True)
class Material:
    """One material of the checklist: name, whether it is required, how many copies, in what form."""

    name: str
    required: bool = True
    copies: int = 1
    form: str = "原件"


@dataclass(frozen=True)
class Item:
    """One validated service item (事项)."""

    code: str
    name: str
    kind: str
    department: str
    legal_basis: str
    handling: str
    statutory_limit: str
    promised_limit: str
    process: str
    limit_basis: str = ""
    conditions: tuple[str, ...] = ()
    materials: tuple[Material, ...] = ()
    stage_limits: dict = field(default_factory=dict)  # stage -> {"statutory", "promised", "basis"?}
    clock_stops: tuple[str, ...] = ()
    fee: dict | None = None  # {"standard": yuan, "basis": str}; None = free of charge
    co_departments: tuple[str, ...] = ()
    no_reply_consent: bool = False
    receipt_prefix: str = ""
    # Departments whose comprehensive window (综合窗口, 一窗受理) accepts the item besides its own department's.
    windows: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-plain form (lists, not tuples), as stored in the catalog table."""
        dct = asdict(self)
        for key in ("conditions", "clock_stops", "co_departments", "windows"):
            dct[key] = list(dct[key])
        dct["materials"] = [dict(m) for m in dct["materials"]]
        return dct

    @classmethod
    def from_dict(cls, dct: dict) -> Item:
        return cls(**{
            **dct,
            "conditions": tuple(dct.get("conditions") or ()),
            "materials": tuple(Material(**m) for m in dct.get("materials") or ()),
            "clock_stops": tuple(dct.get("clock_stops") or ()),
            "co_departments": tuple(dct.get("co_departments") or ()),
            "windows": tuple(dct.get("windows") or ()),
        })  # fmt: skip

    def limits(self) -> dict:
        """The case data key `limits`: the whole-case limits under "case", then each stage's."""
        limits = {"case": {"statutory": self.statutory_limit, "promised": self.promised_limit,
                           "basis": self.limit_basis}}  # fmt: skip
        for stage, value in self.stage_limits.items():
            limits[stage] = {"statutory": value["statutory"], "promised": value["promised"],
                             "basis": value.get("basis") or self.limit_basis}  # fmt: skip
        return limits


def parse_limit(text: str) -> tuple[int, str]:
    """'20wd' -> (20, 'wd'); '60d' -> (60, 'd'). Raises ValueError for anything else."""
    match = _LIMIT.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f'{text!r} is not a limit: write "<n>wd" (working days) or "<n>d" (calendar days)')
    return int(match.group(1)), match.group(2)


class _ItemReader:
    """Validates one [[item]] table; every complaint names the file, the item and the field."""

    def __init__(self, filename: str, raw: dict, index: int, departments: set[str] | None):
        self.filename = filename
        self.raw = raw
        self.code = raw.get("code") if isinstance(raw.get("code"), str) else f"#{index}"
        self.departments = departments

    def fail(self, fld: str, why: str):
        raise CatalogError(f"{self.filename}: item {self.code}: {fld}: {why}", [(f"{self.code}.{fld}", why)])

    def text(self, fld: str, pattern: re.Pattern | None = None, required: bool = True) -> str:
        value = self.raw.get(fld)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(fld, "is required and must be non-empty text")
        if pattern is not None and not pattern.match(value):
            self.fail(fld, f"{value!r} is malformed (expected {pattern.pattern})")
        return value.strip()

    def choice(self, fld: str, allowed: tuple[str, ...]) -> str:
        value = self.raw.get(fld)
        if value not in allowed:
            self.fail(fld, f"{value!r} must be one of {', '.join(allowed)}")
        return value

    def texts(self, fld: str) -> tuple[str, ...]:
        value = self.raw.get(fld, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(fld, "must be a list of non-empty texts")
        return tuple(v.strip() for v in value)

    def department(self, fld: str, code: object) -> str:
        if not isinstance(code, str) or not _DEPARTMENT.match(code):
            self.fail(fld, f"{code!r} is not a department code (lower-case ascii letters, digits and '-')")
        if self.departments is not None and code not in self.departments:
            self.fail(fld, f"department {code!r} is not in departments.toml")
        return code

    def limit_pair(self, fld: str, statutory: object, promised: object) -> None:
        """Both well-formed, same unit, and the promise within the law."""
        try:
            s_value, s_unit = parse_limit(statutory)
        except ValueError as exc:
            self.fail(f"{fld}statutory_limit" if not fld else f"{fld}.statutory", str(exc))
        try:
            p_value, p_unit = parse_limit(promised)
        except ValueError as exc:
            self.fail(f"{fld}promised_limit" if not fld else f"{fld}.promised", str(exc))
        where = "promised_limit" if not fld else f"{fld}.promised"
        if s_unit != p_unit:
            self.fail(where, f"{promised} and the statutory limit {statutory} use different units; "
                             "write both in working days (wd) or both in calendar days (d)")  # fmt: skip
        if p_value > s_value:
            self.fail(where, f"the promised limit {promised} exceeds the statutory limit {statutory}; "
                             "a service centre may only promise less time than the law allows")  # fmt: skip
        if s_value == 0:
            self.fail(f"{fld}statutory_limit" if not fld else f"{fld}.statutory", "a limit of 0 days is not a limit")

    def materials(self) -> tuple[Material, ...]:
        value = self.raw.get("materials", [])
        if not isinstance(value, list):
            self.fail("materials", "must be a list of [[item.materials]] tables")
        result, seen = [], set()
        for i, m in enumerate(value, start=1):
            where = f"materials[{i}]"
            if not isinstance(m, dict):
                self.fail(where, "must be a table {name, required, copies, form}")
            unknown = set(m) - {"name", "required", "copies", "form"}
            if unknown:
                self.fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")
            name = m.get("name")
            if not isinstance(name, str) or not name.strip():
                self.fail(f"{where}.name", "is required")
            if name in seen:
                self.fail(f"{where}.name", f"material {name!r} is listed twice")
            seen.add(name)
            required, copies, form = m.get("required", True), m.get("copies", 1), m.get("form", "原件")
            if not isinstance(required, bool):
                self.fail(f"{where}.required", "must be true or false")
            if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 99:
                self.fail(f"{where}.copies", "must be a whole number from 1 to 99")
            if not isinstance(form, str) or not form.strip():
                self.fail(f"{where}.form", "must be non-empty text (原件, 复印件, 电子证照 ...)")
            result.append(Material(name.strip(), required, copies, form.strip()))
        return tuple(result)

    def stage_limits(self) -> dict:
        value = self.raw.get("stage_limits", {})
        if not isinstance(value, dict):
            self.fail("stage_limits", "must be a table stage = {statutory, promised}")
        result = {}
        for stage, limits in value.items():
            where = f"stage_limits.{stage}"
            if not re.match(r"^[a-z][a-z0-9_]*$", stage):
                self.fail(where, "a stage code is lower-case ascii letters, digits and '_'")
            if not isinstance(limits, dict) or set(limits) - {"statutory", "promised", "basis"}:
                self.fail(where, "must be a table {statutory, promised, basis?}")
            self.limit_pair(where, limits.get("statutory"), limits.get("promised"))
            result[stage] = dict(limits)
        return result

    def fee(self) -> dict | None:
        value = self.raw.get("fee")
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"standard", "basis"}:
            self.fail("fee", "must be a table {standard = yuan, basis = the law that sets the fee}; leave it out "
                             "for a free item (行政许可法第五十八条)")  # fmt: skip
        standard = value["standard"]
        if isinstance(standard, bool) or not isinstance(standard, (int, float)) or not 0 < standard <= 1_000_000:
            self.fail("fee.standard", "must be an amount in yuan above 0 and at most 1000000")
        if not isinstance(value["basis"], str) or not value["basis"].strip():
            self.fail("fee.basis", "must name the law or regulation that sets the fee (行政许可法第五十九条)")
        return {"standard": standard, "basis": value["basis"].strip()}

    def read(self) -> Item:
        unknown = set(self.raw) - _FIELDS
        if unknown:
            self.fail(sorted(unknown)[0], "unknown field (misspelt?)")
        for fld in _REQUIRED:
            if fld not in self.raw:
                self.fail(fld, "is required")
        code = self.text("code", _CODE)
        kind = self.choice("kind", KINDS)
        handling = self.choice("handling", HANDLING)
        self.limit_pair("", self.raw["statutory_limit"], self.raw["promised_limit"])
        process = self.text("process", re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$"))
        clock_stops = self.texts("clock_stops")
        for reason in clock_stops:
            if reason not in CLOCK_STOPS:
                self.fail("clock_stops", f"{reason!r} is not a clock-stop reason ({', '.join(CLOCK_STOPS)})")
        co = self.raw.get("co_departments", [])
        if not isinstance(co, list):
            self.fail("co_departments", "must be a list of department codes")
        co_departments = tuple(self.department("co_departments", c) for c in co)
        if process == "joint_review" and not co_departments:
            self.fail("co_departments", "a joint review item needs at least one co-department")
        windows = self.raw.get("windows", [])
        if not isinstance(windows, list):
            self.fail("windows", "must be a list of department codes (the comprehensive windows accepting it)")
        windows = tuple(self.department("windows", w) for w in windows)
        no_reply = self.raw.get("no_reply_consent", False)
        if not isinstance(no_reply, bool):
            self.fail("no_reply_consent", "must be true or false")
        basis = (
            self.text("limit_basis", required=False)
            or DEFAULT_LIMIT_BASIS["joint_review" if process == "joint_review" else kind]
        )
        return Item(
            code=code, name=self.text("name"), kind=kind,
            department=self.department("department", self.raw.get("department")),
            legal_basis=self.text("legal_basis"), handling=handling,
            statutory_limit=self.raw["statutory_limit"], promised_limit=self.raw["promised_limit"],
            process=process, limit_basis=basis, conditions=self.texts("conditions"), materials=self.materials(),
            stage_limits=self.stage_limits(), clock_stops=clock_stops, fee=self.fee(),
            co_departments=co_departments, no_reply_consent=no_reply, windows=windows,
            receipt_prefix=self.text("receipt_prefix", _PREFIX, required=False),
        )  # fmt: skip


def department_codes(path: Path) -> set[str]:
    """The codes of a departments.toml file."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path.name}: not valid TOML: {exc}") from None
    return {d.get("code") for d in doc.get("department", []) if isinstance(d, dict)}


def load_catalog(path: Path | str, departments: Path | str | None = None) -> list[Item]:
    """Read and validate a catalog file. Department codes are checked against `departments` (default: the
    departments.toml beside the catalog, when there is one)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path.name}: not valid TOML: {exc}") from None
    dept_file = Path(departments) if departments is not None else path.with_name("departments.toml")
    known = department_codes(dept_file) if dept_file.is_file() else None
    raw_items = doc.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        raise CatalogError(f"{path.name}: no [[item]] tables")
    items, seen = [], set()
    for index, raw in enumerate(raw_items, start=1):
        item = _ItemReader(path.name, raw, index, known).read()
        if item.code in seen:
            raise CatalogError(f"{path.name}: item {item.code}: code: appears twice")
        seen.add(item.code)
        items.append(item)
    return items


def receipt_prefix(item: Item) -> str:
    """Receipt numbers read department, date, sequence: the item's own prefix, else its department code
    (qx-scjg -> QXSCJG), as in QXSCJG-20260918-00001."""
    return item.receipt_prefix or re.sub(r"[^A-Z0-9]", "", item.department.upper())[:16] or "CASE"
