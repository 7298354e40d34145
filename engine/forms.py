"""Task forms: JSON Schema files under forms/, turned into fields for the pages, coerced from HTML form
strings and validated with jsonschema, with messages in Chinese beside each field.

A form's key is its path under forms/ without `.json` (e.g. `approval/review`). Widgets follow from the
schema (enum → radio or select, format date → date, boolean → checkbox, array of objects → table); a
property may name one with `x-widget` (`textarea`, `file`, `select` ...). Enum titles come from
`oneOf: [{const, title}]` or `x-enum-titles`. Every form carries an `opinion` (审批意见) field.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from engine.errors import InvalidData, NotFound

OPINION = "opinion"
# Case facts that route or scope a case: the catalog and the window set them, and only the actions made for them
# change them (audited as such); a task's completion never does, whatever its form says.
CASE_FACTS = frozenset({"department", "item_code", "item_name", "item_kind", "applicant", "proxy", "co_departments",
                        "government", "limits"})  # fmt: skip
UNKNOWN_FIELD = "表单没有此字段"
_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
_WIDGETS = {"text", "textarea", "number", "date", "radio", "select", "checkbox", "file", "table"}
_TRUE = {"on", "true", "1", "yes", "y", "是"}
_TYPE_NAMES = {"string": "文本", "number": "数字", "integer": "整数", "boolean": "是/否", "array": "列表",
               "object": "对象", "null": "空"}  # fmt: skip
_FORMAT_MESSAGES = {"date": "应为日期（年-月-日）", "email": "应为电子邮箱地址", "date-time": "应为日期时间"}


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    type: str
    widget: str
    required: bool = False
    enum: tuple | None = None
    enum_titles: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    format: str | None = None
    description: str | None = None
    default: object = None
    item_fields: tuple[Field, ...] = ()
    max_length: int | None = None

    def options(self) -> list[tuple[object, str]]:
        """(value, title) pairs of an enum field."""
        if not self.enum:
            return []
        titles = self.enum_titles or tuple(str(v) for v in self.enum)
        return list(zip(self.enum, titles, strict=False))


@dataclass(frozen=True)
class Form:
    key: str
    title: str
    schema: dict
    fields: list[Field] = field(default_factory=list)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _enum(prop: dict) -> tuple[tuple | None, tuple | None]:
    source = prop.get("items", {}) if prop.get("type") == "array" else prop
    if "enum" in source:
        titles = source.get("x-enum-titles") or prop.get("x-enum-titles")
        return tuple(source["enum"]), tuple(str(t) for t in titles) if titles else None
    choices = source.get("oneOf") or source.get("anyOf")
    if choices and all(isinstance(c, dict) and "const" in c for c in choices):
        return tuple(c["const"] for c in choices), tuple(str(c.get("title", c["const"])) for c in choices)
    return None, None


def _field(name: str, prop: dict, required: bool) -> Field:
    kind = prop.get("type", "string")
    if isinstance(kind, list):  # ["string", "null"]: the first non-null type drives the widget
        kind = next((k for k in kind if k != "null"), "string")
    enum, titles = _enum(prop)
    widget = prop.get("x-widget")
    items: tuple[Field, ...] = ()
    if kind == "array" and prop.get("items", {}).get("type") == "object" or kind == "object":
        sub = prop.get("items", {}) if kind == "array" else prop
        needed = set(sub.get("required", []))
        items = tuple(_field(n, p, n in needed) for n, p in sub.get("properties", {}).items())
        widget = widget or "table"
    if widget not in _WIDGETS:
        if enum is not None:
            widget = "checkbox" if kind == "array" else ("radio" if len(enum) <= 4 else "select")
        elif kind == "boolean":
            widget = "checkbox"
        elif kind in ("number", "integer"):
            widget = "number"
        elif prop.get("format") == "date":
            widget = "date"
        elif "contentMediaType" in prop or "contentEncoding" in prop:
            widget = "file"
        elif (prop.get("maxLength") or 0) > 200 or name == OPINION:
            widget = "textarea"
        else:
            widget = "text"
    return Field(
        name=name, title=str(prop.get("title") or name), type=kind, widget=widget, required=required,
        enum=enum, enum_titles=titles, minimum=prop.get("minimum"), maximum=prop.get("maximum"),
        format=prop.get("format"), description=prop.get("description"), default=prop.get("default"),
        item_fields=items, max_length=prop.get("maxLength"),
    )  # fmt: skip


def _values(formdata: Mapping, name: str) -> list[str]:
    if hasattr(formdata, "getlist"):
        return list(formdata.getlist(name))
    value = formdata.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _scalar(f: Field, raw: str):
    """One HTML string as the field's JSON type; a string that does not parse is kept so the error shows it."""
    text = raw.strip()
    if f.type in ("number", "integer"):
        try:
            number = float(text)
        except ValueError:
            return text
        if f.type == "integer":
            return int(number) if number.is_integer() else text
        return int(number) if number.is_integer() and "." not in text else number
    if f.type == "boolean":
        return text.lower() in _TRUE
    if f.enum is not None and text not in (str(v) for v in f.enum):
        return text
    if f.enum is not None:  # an enum of numbers comes back as the number
        return next(v for v in f.enum if str(v) == text)
    return text


def _message(error) -> str:
    v, kw = error.validator_value, error.validator
    if kw == "required":
        return "必填"
    if kw == "type":
        kinds = v if isinstance(v, list) else [v]
        return "应为" + "或".join(_TYPE_NAMES.get(k, k) for k in kinds)
    if kw in ("enum", "const"):
        options = v if kw == "enum" else [v]
        return "须为以下之一：" + "、".join(str(o) for o in options)
    if kw in ("oneOf", "anyOf") and all(isinstance(c, dict) and "const" in c for c in v):
        return "须为以下之一：" + "、".join(str(c.get("title", c["const"])) for c in v)
    if kw == "minimum":
        return f"不得小于 {v}"
    if kw == "maximum":
        return f"不得大于 {v}"
    if kw == "exclusiveMinimum":
        return f"须大于 {v}"
    if kw == "exclusiveMaximum":
        return f"须小于 {v}"
    if kw == "minLength":
        return "必填" if v == 1 else f"至少 {v} 个字符"
    if kw == "maxLength":
        return f"不得超过 {v} 个字符"
    if kw == "minItems":
        return f"至少 {v} 项"
    if kw == "maxItems":
        return f"不得超过 {v} 项"
    if kw == "pattern":
        return "格式不正确"
    if kw == "format":
        return _FORMAT_MESSAGES.get(v, "格式不正确")
    if kw == "additionalProperties":
        return UNKNOWN_FIELD
    return error.message


class FormLibrary:
    """The forms of a folder, read once each and re-read when the file changes; attached as `engine.forms`."""

    def __init__(self, forms_dir: str | Path | None):
        self.forms_dir = Path(forms_dir) if forms_dir is not None else None
        self._cache: dict[str, tuple[float, Form, Draft202012Validator]] = {}
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not _KEY.match(key):
            raise NotFound(f"form key {key!r} is not valid (letters, digits, '_', '-' and '/')")
        if self.forms_dir is None:
            raise NotFound(f"form {key}: no forms folder is configured")
        return self.forms_dir / f"{key}.json"

    def exists(self, key: str | None) -> bool:
        try:
            return bool(key) and self._path(key).is_file()
        except NotFound:
            return False

    def _load(self, key: str) -> tuple[Form, Draft202012Validator]:
        path = self._path(key)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            raise NotFound(f"form {key} does not exist ({path.name} is not in the forms folder)") from None
        with self._lock:
            cached = self._cache.get(key)
        if cached and cached[0] == mtime:
            return cached[1], cached[2]
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
        except json.JSONDecodeError as exc:
            raise InvalidData(f"form {key}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
        except SchemaError as exc:
            raise InvalidData(f"form {key}: not a valid JSON Schema: {exc.message}") from None
        if schema.get("type", "object") != "object":
            raise InvalidData(f"form {key}: the schema must describe an object")
        props = dict(schema.get("properties", {}))
        props.setdefault(OPINION, {"type": "string", "title": "审批意见", "maxLength": 2000})
        schema = {**schema, "type": "object", "properties": props}
        needed = set(schema.get("required", []))
        fields = [_field(name, prop, name in needed) for name, prop in props.items()]
        form = Form(key, str(schema.get("title") or key), schema, fields)
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        with self._lock:
            self._cache[key] = (mtime, form, validator)
        return form, validator

    def get(self, key: str) -> Form:
        """The form with that key; NotFound when there is no such file."""
        return self._load(key)[0]

    def keys(self) -> list[str]:
        if self.forms_dir is None or not self.forms_dir.is_dir():
            return []
        return sorted(p.relative_to(self.forms_dir).with_suffix("").as_posix() for p in self.forms_dir.rglob("*.json"))

    def coerce(self, key: str, formdata: Mapping) -> dict:
        """HTML form strings (a Mapping of name → list of str, e.g. werkzeug's MultiDict) as typed JSON data.
        Empty inputs are left out (so `required` reports them); rows of a table are `field-<i>-<sub>`."""
        form = self.get(key)
        data: dict = {}
        for f in form.fields:
            if f.widget == "table":
                rows = self._rows(f, formdata)
                if f.type == "object":
                    if rows:
                        data[f.name] = rows[0]
                elif rows or f.required:
                    data[f.name] = rows
                continue
            values = [v for v in _values(formdata, f.name) if isinstance(v, str)]
            if f.type == "array":
                data[f.name] = [_scalar(f, v) for v in values if v.strip()]
            elif f.type == "boolean":
                data[f.name] = bool(values) and values[-1].strip().lower() in _TRUE
            elif values and values[-1].strip():
                data[f.name] = _scalar(f, values[-1])
        tables = [re.compile(rf"^{re.escape(f.name)}-\d+-") for f in form.fields if f.widget == "table"]
        for name in formdata:
            # an input the form does not have is kept as sent, so that `validate` refuses it by name
            if name not in data and form.field(name) is None and not any(t.match(name) for t in tables):
                values = _values(formdata, name)
                data[name] = values[-1] if values else ""
        return data

    @staticmethod
    def _rows(f: Field, formdata: Mapping) -> list[dict]:
        pattern = re.compile(rf"^{re.escape(f.name)}-(\d+)-(.+)$")
        found: dict[int, dict[str, str]] = {}
        for name in formdata:
            match = pattern.match(name)
            if match:
                values = _values(formdata, name)
                found.setdefault(int(match.group(1)), {})[match.group(2)] = values[-1] if values else ""
        rows = []
        subs = {s.name: s for s in f.item_fields}
        for index in sorted(found):
            raw = found[index]
            if not any(str(v).strip() for v in raw.values()):
                continue  # an empty row left in the table is no row
            row = {}
            for name, sub in subs.items():
                value = raw.get(name, "")
                if sub.type == "boolean":
                    row[name] = value.strip().lower() in _TRUE
                elif value.strip():
                    row[name] = _scalar(sub, value)
            rows.append(row)
        return rows

    def validate(self, key: str, data) -> list[tuple[str, str]]:
        """(field path, Chinese message) pairs; empty when the data fits the form. Paths look like `items.0.name`."""
        form, validator = self._load(key)
        order = {f.name: i for i, f in enumerate(form.fields)}
        found = []
        if isinstance(data, dict):
            found += [(name, UNKNOWN_FIELD) for name in data if form.field(name) is None]
        for error in validator.iter_errors(data):
            path = [str(p) for p in error.absolute_path]
            if error.validator == "required":
                missing = [r for r in error.validator_value if not isinstance(error.instance, dict)
                           or r not in error.instance]  # fmt: skip
                found += [(".".join([*path, m]), "必填") for m in missing]
                continue
            found.append((".".join(path) or "_form", _message(error)))
        unique = list(dict.fromkeys(found))
        return sorted(unique, key=lambda e: (order.get(e[0].split(".")[0], len(order)), e[0]))

    def check(self, key: str, data) -> None:
        """Raise InvalidData (422) listing every field error, if any."""
        errors = self.validate(key, data)
        if errors:
            form = self.get(key)
            found = "；".join(f"{self._title(form, f)}：{message}" for f, message in errors)
            raise InvalidData(f"表单「{form.title}」有 {len(errors)} 处需要修改：{found}", errors)

    def check_completion(self, key: str | None, data: dict) -> None:
        """What a task's completion may write (every path: the pages, the API, the CLI): never a case fact
        (`CASE_FACTS`), and, when the diagram names a form, only that form's fields, of their types, with the
        required ones given. InvalidData (422) names each field and the reason."""
        facts = sorted(CASE_FACTS & set(data))
        if facts:
            raise InvalidData(f"{'、'.join(facts)} 是办件的基本信息，不能在办理任务时修改（字段 {', '.join(facts)}）",
                              [(name, "办件基本信息，不能在办理任务时修改") for name in facts])  # fmt: skip
        if not key:
            return  # the diagram names no form for this task: nothing narrows its data further
        if not self.exists(key):
            raise InvalidData(f"任务的表单 {key} 不在表单目录中，无法核对提交的数据", [("_form", "form not found")])
        self.check(key, data)

    @staticmethod
    def _title(form: Form, path: str) -> str:
        head = form.field(path.split(".")[0])
        return head.title if head else path
