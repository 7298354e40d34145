"""The service-item catalog (事项目录): published items, and starting a case (办件) from one.

`CatalogService` (attached as `engine.catalog`) loads processes/catalog.toml into the `catalog_items` table,
lists and gets items, and `apply` starts the item's BPMN process with the case filled from the catalog: limits,
department, co-departments, materials checklist, fee; the receipt number reads department, date, sequence.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from engine.case_json import check_json_object
from engine.catalog_file import CatalogError, Item, Material, load_catalog, parse_limit, receipt_prefix
from engine.errors import InvalidData, NotFound
from engine.store import Case
from engine.store.catalog import CatalogItem
from engine.store.identity import Department

__all__ = ["CatalogError", "CatalogService", "Item", "Material", "load_catalog", "parse_limit", "receipt_prefix"]

APPLICANT_KINDS = ("person", "organisation")
# Case data keys the catalog fills; a caller's data may not replace them (the catalog is the published truth).
CATALOG_KEYS = frozenset({
    "item_code", "item_name", "item_kind", "department", "applicant", "proxy", "limits", "handling", "fee",
    "co_departments", "no_reply_consent", "legal_basis", "missing_materials", "clock_stops", "government",
})  # fmt: skip


class CatalogService:
    """Catalog items in the database, and cases started from them."""

    def __init__(self, engine):
        self.engine = engine

    def load(self, path: Path | str, departments: Path | str | None = None) -> list[Item]:
        """Validate a catalog file and upsert its items (one transaction); items no longer in the file stay
        stored, for the cases that refer to them, but are no longer published (`active` false)."""
        items = load_catalog(path, departments)
        now = self.engine.now()
        codes = {item.code for item in items}
        with self.engine.db.write_session() as session, session.begin():
            for item in items:
                row = session.get(CatalogItem, item.code) or CatalogItem(code=item.code)
                self._fill(row, item, Path(path).name, now)
                session.add(row)
            for row in session.scalars(select(CatalogItem).where(CatalogItem.active.is_(True))):
                if row.code not in codes:
                    row.active = False
                    row.loaded_at = now
        return items

    @staticmethod
    def _fill(row: CatalogItem, item: Item, source: str, now: datetime) -> None:
        row.name, row.kind, row.department, row.process = item.name, item.kind, item.department, item.process
        row.handling, row.active, row.definition = item.handling, True, item.to_dict()
        row.source, row.loaded_at = source, now

    def list(self, department: str | None = None) -> list[Item]:
        """Published items, by code; only one department's when `department` is given."""
        query = select(CatalogItem).where(CatalogItem.active.is_(True)).order_by(CatalogItem.code)
        if department:
            query = query.where(CatalogItem.department == department)
        with self.engine.db.session() as session:
            return [Item.from_dict(row.definition) for row in session.scalars(query)]

    def get(self, code: str) -> Item:
        """A published item by code."""
        with self.engine.db.session() as session:
            row = session.get(CatalogItem, code)
        if row is None:
            raise NotFound(f"item {code} is not in the catalog (load it with `govflow catalog load`)")
        if not row.active:
            raise NotFound(f"item {code} is no longer published in the catalog")
        return Item.from_dict(row.definition)

    def apply(self, code: str, applicant: dict, data: dict | None = None, *, actor: str,
              proxy: dict | None = None) -> Case:  # fmt: skip
        """Start a case of the item's process for `applicant` (the party, for enforcement items); `data` may list
        the provided materials by name under "materials". Returns the case with its receipt number."""
        item = self.get(code)
        case_data = case_data_for(item, applicant, data, proxy)
        case_data["government"] = self._government(item.department)
        try:
            self.engine.repository.get(item.process)
        except NotFound:
            raise NotFound(f"item {item.code} runs process {item.process}, which is not deployed "
                           f"(govflow deploy processes/{item.process}.bpmn)") from None  # fmt: skip
        return self.engine.runtime.start(item.process, case_data, started_by=actor,
                                         receipt_prefix=receipt_prefix(item))  # fmt: skip

    def _government(self, department: str) -> str:
        """The people's government above a department (its parent in the organisation), whose head approves a
        joint review's extension (行政许可法第42条第2款); the department itself when the organisation is not loaded."""
        with self.engine.db.session() as session:
            row = session.get(Department, department)
        return row.parent if row is not None and row.parent else department


def _person(value, what: str, kinds: bool) -> dict:
    if not isinstance(value, dict):
        raise InvalidData(f"{what} must be a JSON object {{name, id_no, phone{', kind' if kinds else ''}}}",
                          [(what, "object expected")])  # fmt: skip
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidData(f"{what}.name is required", [(f"{what}.name", "required")])
    for key in ("id_no", "phone"):
        if value.get(key) is not None and not isinstance(value.get(key), str):
            raise InvalidData(f"{what}.{key} must be text", [(f"{what}.{key}", "text expected")])
    result = {**value, "name": name.strip()}
    if kinds:
        kind = value.get("kind", "person")
        if kind not in APPLICANT_KINDS:
            raise InvalidData(f"{what}.kind {kind!r} must be person or organisation", [(f"{what}.kind", "choice")])
        result["kind"] = kind
    return result


def _checklist(item: Item, provided) -> list[dict]:
    if provided is None:
        provided = []
    if not isinstance(provided, list) or not all(isinstance(p, str) for p in provided):
        raise InvalidData("data.materials must be the list of the names of the materials provided",
                          [("materials", "list of names expected")])  # fmt: skip
    known = {m.name for m in item.materials}
    unknown = [p for p in provided if p not in known]
    if unknown:
        raise InvalidData(f"item {item.code} asks for no material named {unknown[0]!r} (its materials: "
                          f"{'、'.join(sorted(known))})", [("materials", "unknown material")])  # fmt: skip
    return [{"name": m.name, "required": m.required, "copies": m.copies, "form": m.form,
             "provided": m.name in provided} for m in item.materials]  # fmt: skip


def case_data_for(item: Item, applicant: dict, data: dict | None, proxy: dict | None = None) -> dict:
    """The starting data of a case of `item` (see the catalog contract); raises InvalidData for bad input."""
    data = check_json_object(data)
    clash = sorted(CATALOG_KEYS & set(data))
    if clash:
        raise InvalidData(f"data field '{clash[0]}' is filled from the catalog item and cannot be given",
                          [(clash[0], "set by the catalog")])  # fmt: skip
    materials = _checklist(item, data.pop("materials", None))
    case_data = {
        "item_code": item.code, "item_name": item.name, "item_kind": item.kind, "department": item.department,
        "legal_basis": item.legal_basis, "applicant": _person(check_json_object(applicant, "applicant"),
                                                              "applicant", kinds=True),
        "materials": materials,
        "missing_materials": [m["name"] for m in materials if m["required"] and not m["provided"]],
        "limits": item.limits(), "handling": item.handling, "fee": item.fee,
        "co_departments": list(item.co_departments), "no_reply_consent": item.no_reply_consent,
        "clock_stops": list(item.clock_stops),
    }  # fmt: skip
    if proxy is not None:
        case_data["proxy"] = _person(check_json_object(proxy, "proxy"), "proxy", kinds=False)
    return {**case_data, **data}
