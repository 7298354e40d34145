"""Electronic supervision (电子监察): the case list supervisors watch, within their scope.

A supervisor sees the cases of their department and of every department below it (identity's
`department_scope`); nothing outside that scope reaches them, neither rows nor counts nor CSV lines.
Supervisor actions (suspend, resume, terminate, reassign, retry) live in `engine.supervision_actions`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, false, func, or_, select, true

from engine import local_time, policy
from engine.case_lookup import case_not_found, find_case
from engine.clock import LOCAL_TZ
from engine.colour import COLOURS, Columns, Thresholds, colour_in, colour_sql, thresholds_for
from engine.errors import InvalidData
from engine.stages import keys_named, stage_label
from engine.store import ProcessVersion
from engine.store.supervision import SupervisedCase
from engine.supervision_index import OPEN_STATUSES, colour_at, steps

STATUSES = ("running", "suspended", "error", "completed", "terminated")
SORTS = {
    "created_at": SupervisedCase.created_at,
    "receipt_no": SupervisedCase.receipt_no,
    "due_at": SupervisedCase.due_at,
    "completed_at": SupervisedCase.completed_at,
    "department": SupervisedCase.department,
    "item": SupervisedCase.item_code,
    "status": SupervisedCase.status,
}
MAX_PER_PAGE = 200
CSV_LIMIT = 100_000
COUNT_CAP = 2_000  # beyond this the list says "2000+" rather than counting a million rows per page view


@dataclass(frozen=True)
class Scope:
    """The departments a viewer may see; `departments` None means every department (an administrator);
    `officer`: also the cases this window officer registered, whatever their department (a person's case reach,
    `policy.case_reach`; a supervision scope has none)."""

    username: str
    departments: frozenset[str] | None
    officer: str | None = None

    def allows(self, department: str | None, officer: str | None = None) -> bool:
        if self.officer is not None and officer == self.officer:
            return True
        return self.departments is None or (department is not None and department in self.departments)


def reach_of(engine, user) -> Scope:
    """The cases a person may find by their facts (办件查询: any member of staff): `policy.case_reach` as a
    Scope."""
    reach = policy.case_reach(policy.subject(engine, user))
    return Scope(reach.officer, reach.departments, reach.officer)


def scope_of(engine, user, action: str = "supervise") -> Scope:
    """The supervision scope of a user (identity's User or Actor); Forbidden unless the permission policy lets
    them do `action` (supervise, read_statistics: supervisors, leaders, administrators)."""
    who = policy.subject(engine, user)
    policy.require(who, action)
    return Scope(who.username, who.supervised)


@dataclass
class CaseFilter:
    """What the supervisor asked for. Text filters match a prefix; dates are local calendar days, inclusive."""

    receipt_no: str | None = None
    text: str | None = None  # receipt number (prefix), applicant or item name (containing), whatever the case
    applicant: str | None = None
    item: str | None = None
    department: str | None = None
    stage: str | None = None  # a stage as a person names it (受理, 协办审查, an activity's name) or its key
    # The stages `stage` names, when the caller resolved them in the reader's language (`stage_keys`); None:
    # the list resolves the Chinese names itself.
    stage_keys: list[str] | None = None
    status: str | None = None
    colour: str | None = None
    officer: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    completed_from: date | None = None
    completed_to: date | None = None
    sort: str = "created_at"
    descending: bool = True
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args) -> CaseFilter:
        """Build from query-string arguments (a Mapping of str); bad values raise InvalidData naming the field."""
        f = cls()
        for name in ("receipt_no", "text", "applicant", "item", "department", "stage", "status", "colour", "officer"):
            value = (args.get(name) or "").strip()
            setattr(f, name, value or None)
        for name in ("received_from", "received_to", "completed_from", "completed_to"):
            value = (args.get(name) or "").strip()
            if value:
                try:
                    setattr(f, name, date.fromisoformat(value))
                except ValueError:
                    raise InvalidData(f"{name}: '{value}' is not a date YYYY-MM-DD", [(name, "bad date")]) from None
        sort = (args.get("sort") or "-created_at").strip()
        f.descending = sort.startswith("-")
        f.sort = sort.lstrip("-")
        for name, default in (("page", 1), ("per_page", 50)):
            value = (args.get(name) or "").strip()
            try:
                setattr(f, name, int(value) if value else default)
            except ValueError:
                raise InvalidData(f"{name}: '{value}' is not a whole number", [(name, "not a number")]) from None
        f.check()
        return f

    def check(self) -> None:
        if self.sort not in SORTS:
            raise InvalidData(f"sort: '{self.sort}' is not one of {', '.join(SORTS)}", [("sort", "unknown")])
        if self.colour and self.colour not in COLOURS:
            raise InvalidData(f"colour: '{self.colour}' is not one of {', '.join(COLOURS)}", [("colour", "unknown")])
        if self.status and self.status not in STATUSES:
            raise InvalidData(f"status: '{self.status}' is not one of {', '.join(STATUSES)}", [("status", "unknown")])
        if self.page < 1 or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidData(f"page must be ≥ 1 and per_page between 1 and {MAX_PER_PAGE}", [("page", "range")])


@dataclass
class CaseList:
    rows: list[dict]
    total: int
    total_capped: bool
    counts: dict[str, int] = field(default_factory=dict)
    page: int = 1
    per_page: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=LOCAL_TZ)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The supervision row as `engine.colour` reads a clock (a stopped clock keeps the colour it had).
_CLOCK = Columns(SupervisedCase.due_at, SupervisedCase.warn_at, SupervisedCase.statutory_due_at,
                 SupervisedCase.clock_stopped, SupervisedCase.stopped_colour)  # fmt: skip


def colour_condition(colour: str, at: Thresholds):
    """SQL condition: an open case whose colour at `at` is `colour` (`colour_at` in SQL; ranges of the instants)."""
    # `is_open = true` at the top level lets PostgreSQL use the partial index of open cases.
    return and_(SupervisedCase.is_open == true(), colour_in(_CLOCK, [colour], at.values(), untimed="green"))


def case_colour(engine, row: SupervisedCase) -> str | None:
    """The colour of a supervision row now."""
    return colour_at(row, thresholds_for(engine))


def _conditions(engine, scope: Scope, f: CaseFilter, at: Thresholds | None = None, *,
                with_colour: bool = True) -> list:  # fmt: skip
    t = SupervisedCase
    cond = []
    departments = scope.departments
    if f.department:
        wanted = set(engine.identity.department_scope(f.department)) if _has_identity(engine) else {f.department}
        departments = wanted if departments is None else departments & wanted
    if departments is not None:
        allowed = t.department.in_(sorted(departments)) if departments else false()
        if scope.officer is not None:  # and the cases the officer registered (in the filter's departments)
            mine = t.officer == scope.officer
            allowed = or_(allowed, and_(mine, t.department.in_(sorted(wanted))) if f.department else mine)
        cond.append(allowed)
    if f.receipt_no:
        cond.append(t.receipt_no.like(_escape_like(f.receipt_no.upper()) + "%", escape="\\"))
    if f.text:
        words = _escape_like(f.text)
        cond.append(or_(t.receipt_no.like(_escape_like(f.text.upper()) + "%", escape="\\"),
                        t.applicant_name.like(f"%{words}%", escape="\\"),
                        t.item_name.like(f"%{words}%", escape="\\")))  # fmt: skip
    if f.applicant:
        cond.append(t.applicant_name.like(_escape_like(f.applicant) + "%", escape="\\"))
    if f.item:
        cond.append(t.item_code == f.item)
    if f.officer:
        cond.append(t.officer == f.officer)
    if f.stage:
        keys = f.stage_keys if f.stage_keys is not None else stage_keys(engine, f.stage)
        cond.append(or_(false(), *(_at_stage(key) for key in keys)))
    if f.status:
        cond.append(t.status == f.status)
    if f.stage or f.status in OPEN_STATUSES:
        cond.append(t.is_open == true())  # only open cases stand at a stage; lets the open-case index serve
    if f.received_from:
        cond.append(t.created_at >= _day_start(f.received_from))
    if f.received_to:
        cond.append(t.created_at < _day_start(f.received_to + timedelta(days=1)))
    if f.completed_from:
        cond.append(t.completed_at >= _day_start(f.completed_from))
    if f.completed_to:
        cond.append(t.completed_at < _day_start(f.completed_to + timedelta(days=1)))
    if with_colour and f.colour:
        cond.append(colour_condition(f.colour, at or thresholds_for(engine)))
    return cond


def _at_stage(key: str):
    """SQL: the case stands at stage `key` (one of the row's stages, any instance of a stage run per instance)."""
    t, k = SupervisedCase.stage, _escape_like(key)
    parts = [t == key, t.like(f"{k},%", escape="\\"), t.like(f"%,{k}", escape="\\"), t.like(f"%,{k},%", escape="\\")]
    return or_(*parts, t.like(f"{k}:%", escape="\\"), t.like(f"%,{k}:%", escape="\\"))


def stage_keys(engine, text: str, translate=None) -> list[str]:
    """The stage keys (and ids of activities declaring no stage) `text` names: `engine.stages.keys_named` over
    the names of the deployed diagrams' activities, the stage names translated by `translate` when given."""
    with engine.db.session() as session:
        facts = [e or {} for e in session.scalars(select(ProcessVersion.elements))]
    names = {}
    for elements in facts:
        for bpmn_id in steps(elements):
            element = elements.get(bpmn_id) or {}
            if not (element.get("properties") or {}).get("stage") and element.get("name"):
                names[bpmn_id] = element["name"]
    return keys_named(text, translate, names)


def _has_identity(engine) -> bool:
    return getattr(engine, "identity", None) is not None


def row_json(row: SupervisedCase, at: Thresholds) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    return {
        "case_id": row.case_id, "receipt_no": row.receipt_no, "process": row.process_key,
        "item_code": row.item_code, "item_name": row.item_name, "department": row.department,
        "applicant": row.applicant_name, "officer": row.officer, "stage": row.stage, "active": row.active,
        "status": row.status, "colour": colour_at(row, at), "clock_stopped": row.clock_stopped,
        "created_at": iso(row.created_at), "warn_at": iso(row.warn_at), "due_at": iso(row.due_at),
        "statutory_due_at": iso(row.statutory_due_at), "completed_at": iso(row.completed_at),
        "working_days": row.working_days, "on_time": row.on_time, "extensions": row.extensions,
        "stage_name": stage_label(row.stage) if row.stage else None,
    }  # fmt: skip


def list_cases(engine, scope: Scope, f: CaseFilter) -> CaseList:
    """One page of the scope's cases matching the filter, the (capped) total and the colour counts."""
    f.check()
    at = thresholds_for(engine)
    cond = _conditions(engine, scope, f, at)
    column = SORTS[f.sort]
    order = [column.desc() if f.descending else column.asc(), SupervisedCase.case_id.desc()]
    # The page's ids first (an index-only scan where an index covers the filter), then those rows by key.
    ids_query = select(SupervisedCase.case_id).where(*cond).order_by(*order)
    with engine.db.session() as session:
        ids = session.scalars(ids_query.limit(f.per_page).offset((f.page - 1) * f.per_page)).all()
        found = {r.case_id: r for r in session.scalars(select(SupervisedCase).where(SupervisedCase.case_id.in_(ids)))}
        rows = [found[i] for i in ids]
        capped = select(SupervisedCase.case_id).where(*cond).limit(COUNT_CAP + 1).subquery()
        total = session.scalar(select(func.count()).select_from(capped))
        counts = colour_counts(engine, scope, f, session=session, at=at)
    return CaseList([row_json(r, at) for r in rows], min(total, COUNT_CAP), total > COUNT_CAP, counts,
                    f.page, f.per_page)  # fmt: skip


def colour_expression(at: Thresholds):
    """SQL: the colour of an open case at `at` (one CASE per row, for grouping)."""
    return colour_sql(_CLOCK, at.values(), untimed="green")


def colour_counts(engine, scope: Scope, f: CaseFilter | None = None, *, session=None,
                  at: Thresholds | None = None) -> dict[str, int]:  # fmt: skip
    """Open cases of the scope per colour, for the filter without its colour (the badges at the top)."""
    f = f or CaseFilter()
    cond = [*_conditions(engine, scope, f, with_colour=False), SupervisedCase.is_open == true()]
    colour = colour_expression(at or thresholds_for(engine)).label("colour")
    query = select(colour, func.count()).where(*cond).group_by(colour)
    if session is None:
        with engine.db.session() as own:
            found = dict(own.execute(query).all())
    else:
        found = dict(session.execute(query).all())
    return {c: int(found.get(c, 0)) for c in COLOURS}


CSV_COLUMNS = [
    ("receipt_no", "办件编号"), ("item_name", "事项"), ("department", "实施部门"), ("applicant", "申请人"),
    ("officer", "受理人"), ("stage_name", "当前环节"), ("status", "状态"), ("colour", "灯色"),
    ("created_at", "收件时间"), ("due_at", "承诺期限"), ("statutory_due_at", "法定期限"),
    ("completed_at", "办结时间"), ("working_days", "用时（工作日）"), ("on_time", "按时办结"),
]  # fmt: skip
# Columns of instants: written on the local wall clock, their heading naming the zone (a spreadsheet has no zone).
CSV_TIMES = ("created_at", "due_at", "statutory_due_at", "completed_at")


def _csv_cell(key: str, value) -> object:
    if value is None:
        return ""
    return local_time.shown(value) if key in CSV_TIMES else value


def export_csv(engine, scope: Scope, f: CaseFilter) -> Iterator[str]:
    """The whole filtered set as CSV lines (UTF-8 with BOM for spreadsheet programs), at most CSV_LIMIT rows."""
    f.check()
    at = thresholds_for(engine)
    cond = _conditions(engine, scope, f, at)
    column = SORTS[f.sort]
    query = select(SupervisedCase).where(*cond).order_by(column.desc() if f.descending else column.asc())
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    zone = local_time.zone_label()
    yield "\ufeff" + line([f"{title}（{zone}）" if key in CSV_TIMES else title for key, title in CSV_COLUMNS])
    with engine.db.session() as session:
        for row in session.scalars(query.limit(CSV_LIMIT).execution_options(yield_per=1000)):
            data = row_json(row, at)
            yield line([_csv_cell(key, data[key]) for key, _ in CSV_COLUMNS])


def get_case(engine, scope: Scope, case_ref: str) -> SupervisedCase:
    """The supervision row of a case (by id or receipt number, as engine.case_lookup finds it) that lies in the
    viewer's scope."""
    with engine.db.session() as session:
        row = session.get(SupervisedCase, find_case(session, case_ref).id)
    # Outside the scope reads as unknown, in the same words: a supervisor must not learn that another town's
    # case exists.
    if row is None or not scope.allows(row.department, row.officer):
        raise case_not_found(case_ref)
    return row
