"""The inbox query: an actor's own tasks plus the unclaimed tasks of their groups, filtered, sorted by due,
paged, with counts per colour. Scoping comes from the candidate groups only: a user never sees a task that is
neither assigned to them (or to a colleague they cover) nor offered to one of their groups."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import any_, case, exists, func, literal, or_, select, union_all

from engine.calendar import WorkdayCalendar
from engine.clock import LOCAL_TZ
from engine.errors import InvalidData
from engine.store import Case, HumanTask, TaskCandidate

COLOURS = ("green", "yellow", "red", "red_plus", "none")
SORTS = ("due", "-due", "created", "-created")
FILTERS = ("item", "stage", "department", "text", "assignee", "colour")
YELLOW_WORKDAYS = 2  # yellow when at most 2 working days are left (supervision default)
RED_PLUS_WORKDAYS = 3  # red + escalation 3 working days after red
MAX_PER_PAGE = 100
_CALENDAR_TTL = 300.0


@dataclass(frozen=True)
class InboxRow:
    """One line of the inbox: the task, the case it belongs to, and its time-limit badge."""

    task_id: str
    case_id: str
    receipt_no: str
    bpmn_id: str
    name: str | None
    assignee: str | None
    candidate_groups: tuple[str, ...]
    form_key: str | None
    created_at: datetime
    due_at: datetime | None
    item_code: str | None
    item_name: str | None
    department: str | None
    applicant_name: str | None
    case_status: str
    colour: str  # green | yellow | red | red_plus | none (no due date)
    days_left: int | None  # working days; negative when overdue
    provisional: bool  # the calendar does not cover the due day yet
    on_behalf_of: str | None  # the covered colleague the task is there for (AB岗), else None

    def as_json(self) -> dict:
        return {
            "id": self.task_id, "case_id": self.case_id, "receipt_no": self.receipt_no, "bpmn_id": self.bpmn_id,
            "name": self.name, "assignee": self.assignee, "candidate_groups": list(self.candidate_groups),
            "form_key": self.form_key, "created_at": self.created_at.isoformat(),
            "due_at": self.due_at.isoformat() if self.due_at else None, "item_code": self.item_code,
            "item_name": self.item_name, "department": self.department, "applicant_name": self.applicant_name,
            "case_status": self.case_status, "colour": self.colour, "days_left": self.days_left,
            "provisional": self.provisional, "on_behalf_of": self.on_behalf_of,
        }  # fmt: skip


class _CalendarCache:
    """The working-day calendar, read from the database at most every few minutes (it changes once a year)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._value: tuple[float, WorkdayCalendar] | None = None

    def get(self, engine) -> WorkdayCalendar:
        own = getattr(engine, "calendar", None)
        if hasattr(own, "add_workdays") and hasattr(own, "workdays_between") and hasattr(own, "is_workday"):
            return own
        with self._lock:
            if self._value and time.monotonic() - self._value[0] < _CALENDAR_TTL:
                return self._value[1]
        with engine.db.session() as session:
            cal = WorkdayCalendar.from_session(session)
        with self._lock:
            self._value = (time.monotonic(), cal)
        return cal


_calendars = _CalendarCache()


def _end_of(day: date) -> datetime:
    return datetime.combine(day, datetime.max.time().replace(microsecond=0), tzinfo=LOCAL_TZ)


def _thresholds(cal: WorkdayCalendar, now: datetime) -> tuple[datetime, datetime]:
    """(yellow until, red_plus through): due instants at or before these are yellow / red+ (when overdue)."""
    today = now.astimezone(LOCAL_TZ).date()
    yellow_until = _end_of(cal.add_workdays(today, YELLOW_WORKDAYS).day)
    day, counted = today, 0
    while counted < RED_PLUS_WORKDAYS:  # the latest day with 3 working days between it and today
        counted += cal.is_workday(day)
        day -= timedelta(days=1)
    return yellow_until, _end_of(day)


def colour_expression(due, now: datetime, yellow_until: datetime, red_plus_through: datetime):
    """SQL for the colour of a due-instant column: none, red_plus, red, yellow or green."""
    return case(
        (due.is_(None), literal("none")),
        (due <= red_plus_through, literal("red_plus")),
        (due < now, literal("red")),
        (due <= yellow_until, literal("yellow")),
        else_=literal("green"),
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _department_groups(engine, actor, code: str) -> tuple[list[str], list[str]]:
    """(the actor's groups within the department's scope, every possible group name of that scope)."""
    from engine.store.identity import ROLES

    scope = set(engine.identity.department_scope(code))
    mine = [g for g in actor.groups if g.partition("@")[2] in scope]
    return mine, [f"{role}@{d}" for role in ROLES for d in sorted(scope)]


def _ids_among(engine, sub):
    """`human_tasks.id IN (sub)`; on PostgreSQL `= ANY(ARRAY(sub))`, which makes the planner probe the primary
    key for those ids instead of hashing every open task (it misjudges that join otherwise)."""
    if engine.db.is_postgresql:
        return HumanTask.id == any_(func.array(sub.scalar_subquery()))
    return HumanTask.id.in_(sub)


def _visible(engine, actor, filters: Mapping):
    """The open tasks the actor may see, narrowed by the task-level filters: a UNION ALL of disjoint parts
    (assigned to them or a covered colleague; unclaimed and offered to their groups; unclaimed and offered to
    them by name) with the columns the inbox sorts and colours by. None when nothing can match."""
    people = [actor.username, *actor.covers]
    groups = list(actor.groups)
    assignee = filters.get("assignee") or None
    if assignee == "me":
        assignee = actor.username
    narrow = []
    if filters.get("stage"):
        narrow.append(HumanTask.bpmn_id == str(filters["stage"]))
    if filters.get("department"):
        groups, every = _department_groups(engine, actor, filters["department"])
        narrow.append(exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.kind == "group",
                                     TaskCandidate.name.in_(every)))  # fmt: skip
    columns = (HumanTask.id, HumanTask.case_id, HumanTask.due_at, HumanTask.created_at)
    parts = []
    if assignee != "unassigned":
        owners = people if assignee is None else [p for p in people if p == assignee]
        if owners:
            parts.append(select(*columns).where(HumanTask.state == "open", HumanTask.assignee.in_(owners), *narrow))
    if assignee in (None, "unassigned"):
        for kind, names in (("group", groups), ("user", people)):
            if names:
                offered = select(TaskCandidate.task_id).where(TaskCandidate.kind == kind, TaskCandidate.name.in_(names))
                parts.append(select(*columns).where(_ids_among(engine, offered), HumanTask.state == "open",
                                                    HumanTask.assignee.is_(None), *narrow))  # fmt: skip
    if not parts:
        return None
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("visible")


def _case_filters(filters: Mapping) -> list:
    conditions = []
    if filters.get("item"):
        conditions.append(Case.data["item_code"].as_string() == str(filters["item"]))
    if filters.get("text"):
        pattern = _like(str(filters["text"]).strip())
        conditions.append(or_(
            Case.receipt_no.ilike(pattern, escape="\\"),
            Case.data["item_name"].as_string().ilike(pattern, escape="\\"),
            Case.data[("applicant", "name")].as_string().ilike(pattern, escape="\\"),
        ))  # fmt: skip
    return conditions


def _colours(filters: Mapping) -> list[str]:
    colours = filters.get("colour")
    if isinstance(colours, str):
        colours = [c for c in colours.split(",") if c]
    bad = [c for c in colours or [] if c not in COLOURS]
    if bad:
        raise InvalidData(f"unknown colour {', '.join(bad)}; colours are {', '.join(COLOURS)}")
    return list(colours or [])


def _check(filters: dict, sort: str, page, per_page) -> tuple[int, int]:
    unknown = [k for k, v in filters.items() if k not in FILTERS and v not in (None, "")]
    if unknown:
        raise InvalidData(f"unknown inbox filter {', '.join(unknown)}; filters are {', '.join(FILTERS)}")
    if sort not in SORTS:
        raise InvalidData(f"unknown sort {sort!r}; sorts are {', '.join(SORTS)}")
    try:
        page, per_page = int(page), int(per_page)
    except (TypeError, ValueError):
        raise InvalidData("page and per_page must be whole numbers") from None
    if page < 1 or not 0 <= per_page <= MAX_PER_PAGE:
        raise InvalidData(f"page must be ≥ 1 and per_page between 0 and {MAX_PER_PAGE}")
    return page, per_page


def inbox(engine, actor, filters: Mapping | None = None, sort: str = "due", page: int = 1,
          per_page: int = 20) -> tuple[list[InboxRow], int, dict[str, int]]:  # fmt: skip
    """(rows of the page, total matching, counts per colour over the filters other than colour)."""
    filters = dict(filters or {})
    page, per_page = _check(filters, sort, page, per_page)
    colours = _colours(filters)
    counts = dict.fromkeys(COLOURS, 0)
    visible = _visible(engine, actor, filters)
    if visible is None:
        return [], 0, counts
    now = engine.now()
    cal = _calendars.get(engine)
    v = visible.c
    shade = colour_expression(v.due_at, now, *_thresholds(cal, now))
    case_filters = _case_filters(filters)

    def scoped(query):
        # the cases are joined only when a filter reads them: counting needs the tasks alone
        if case_filters:
            query = query.join(Case, Case.id == v.case_id).where(*case_filters)
        return query

    with engine.db.session() as session:
        grouped = scoped(select(shade.label("colour"), func.count()).select_from(visible)).group_by(shade)
        for name, n in session.execute(grouped):
            counts[name] = n
        total = sum(n for c, n in counts.items() if not colours or c in colours)
        if per_page == 0 or total == 0:
            return [], total, counts
        order = {
            "due": (v.due_at.is_(None), v.due_at, v.created_at, v.id),
            "-due": (v.due_at.is_(None), v.due_at.desc(), v.created_at, v.id),
            "created": (v.created_at, v.id),
            "-created": (v.created_at.desc(), v.id),
        }[sort]
        chosen = scoped(select(v.id, shade).select_from(visible))
        if colours:
            chosen = chosen.where(shade.in_(colours))
        picked = session.execute(chosen.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
        # the page's rows with their cases: 20 primary-key lookups, not a join over every visible task
        found = session.execute(
            select(HumanTask, Case.receipt_no, Case.status, Case.data["item_code"].as_string(),
                   Case.data["item_name"].as_string(), Case.data["department"].as_string(),
                   Case.data[("applicant", "name")].as_string())
            .join(Case, Case.id == HumanTask.case_id).where(HumanTask.id.in_([p[0] for p in picked]))
        ).all()  # fmt: skip
    by_id = {row[0].id: row for row in found}
    today = now.astimezone(LOCAL_TZ).date()
    rows = []
    for task_id, colour in picked:
        task, receipt_no, status, item_code, item_name, department, applicant = by_id[task_id]
        due_day = task.due_at.astimezone(LOCAL_TZ).date() if task.due_at else None
        rows.append(InboxRow(
            task.id, task.case_id, receipt_no, task.bpmn_id, task.name, task.assignee,
            tuple(task.candidate_groups or ()), task.form_key, task.created_at, task.due_at, item_code, item_name,
            department, applicant, status, colour,
            cal.workdays_between(today, due_day) if due_day else None,
            bool(due_day and cal.is_provisional(due_day)), on_behalf_of(actor, task),
        ))  # fmt: skip
    return rows, total, counts


def on_behalf_of(actor, task: HumanTask) -> str | None:
    """The covered colleague a task is there for when the actor would act on it as a backup, else None."""
    me = actor.username
    if task.assignee == me:
        return None
    if task.assignee in actor.covers:
        return task.assignee
    if task.assignee is not None:
        return None
    users = set(task.candidate_users or ())
    offered = set(task.candidate_groups or ())
    if me in users or offered & set(actor.user.groups):
        return None
    for name, groups in actor.cover_groups:
        if name in users or offered & set(groups):
            return name
    return None


def may_see(actor, task: HumanTask) -> bool:
    """Whether the task is the actor's, a covered colleague's, or offered to them (whatever its state)."""
    people = {actor.username, *actor.covers}
    if task.assignee in people or task.completed_by in people:
        return True
    return bool(set(task.candidate_users or ()) & people or set(task.candidate_groups or ()) & set(actor.groups))
