"""The inbox query: an actor's own tasks plus the unclaimed tasks of their groups, filtered, sorted by due,
paged, with counts per colour. Scoping comes from the candidate groups only: a user never sees a task that is
neither assigned to them (or to a colleague they cover) nor offered to one of their groups. Filters, sort and
counts read the task rows and their inbox projection (engine.inbox_projection) only; the cases are read by key
for the rows of the page."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, literal_column, or_, select, union_all

from engine import colour, policy
from engine.calendar import calendar_for
from engine.colour import Columns
from engine.errors import InvalidData
from engine.inbox_projection import SEARCH_SEPARATOR
from engine.store import Case, HumanTask, TaskCandidate

COLOURS = (*colour.COLOURS, "none")
SORTS = ("due", "-due", "created", "-created")
FILTERS = ("item", "stage", "department", "text", "assignee", "colour")
MAX_PER_PAGE = 100


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
    warn_at: datetime | None  # the warning instant of the stage clock the task is due by, else None
    statutory_due_at: datetime | None  # that clock's statutory due instant, else None
    item_code: str | None
    item_name: str | None
    department: str | None
    applicant_name: str | None
    case_status: str
    colour: str  # green | yellow | red | red_plus | none (no due date)
    days_left: int | None  # working days; negative when overdue
    provisional: bool  # the calendar does not cover the due day yet
    stopped: bool  # the clock stands still: the colour and days left are those it had when it stopped
    on_behalf_of: str | None  # the covered colleague the task is there for (AB岗), else None

    def as_json(self) -> dict:
        return {
            "id": self.task_id, "case_id": self.case_id, "receipt_no": self.receipt_no, "bpmn_id": self.bpmn_id,
            "name": self.name, "assignee": self.assignee, "candidate_groups": list(self.candidate_groups),
            "form_key": self.form_key, "created_at": self.created_at.isoformat(),
            "due_at": _iso(self.due_at), "warn_at": _iso(self.warn_at),
            "statutory_due_at": _iso(self.statutory_due_at), "item_code": self.item_code,
            "item_name": self.item_name, "department": self.department, "applicant_name": self.applicant_name,
            "case_status": self.case_status, "colour": self.colour, "days_left": self.days_left,
            "provisional": self.provisional, "stopped": self.stopped, "on_behalf_of": self.on_behalf_of,
        }  # fmt: skip


# A task row as `engine.colour` reads a clock: the instants of the clock it is due by (`deadlines.DueInstants`).
_CLOCK = Columns(HumanTask.due_at, HumanTask.warn_at, HumanTask.statutory_due_at,
                 HumanTask.stopped_at.is_not(None), HumanTask.stopped_colour)  # fmt: skip
# The thresholds of a query as bound parameters, so that the colour expressions are built once.
_AT = colour.bound("inbox", HumanTask.__table__.c.due_at.type)
# What a row of the page shows of its task (on_behalf_of reads the assignee and the candidates).
_ROW = (HumanTask.id, HumanTask.case_id, HumanTask.bpmn_id, HumanTask.name, HumanTask.assignee,
        HumanTask.candidate_groups, HumanTask.candidate_users, HumanTask.form_key, HumanTask.created_at,
        HumanTask.due_at, HumanTask.warn_at, HumanTask.statutory_due_at, HumanTask.stopped_at,
        HumanTask.stopped_colour, HumanTask.item_code, HumanTask.item_name, HumanTask.department,
        HumanTask.applicant_name)  # fmt: skip


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class _Shape:
    """What the inbox statements of a request look like; the values go in bound parameters, so that a statement
    is built (and its SQLAlchemy cache key computed) once per shape, not per request."""

    owners: bool  # a part for the tasks assigned to the actor or a covered colleague
    sole_groups: int  # one part per group of the actor, for its tasks offered to it alone
    unclaimed: bool  # a part for the unclaimed tasks offered otherwise (several groups, by name)
    groups: bool  # that part looks for the actor's groups too
    filters: tuple[str, ...]  # the task filters given: stage, item, text, department


def _department_groups(engine, actor, code: str) -> tuple[list[str], list[str]]:
    """(the actor's groups within the department's scope, every possible group name of that scope: each role,
    built-in or named by a designer, in each department)."""
    scope = set(engine.identity.department_scope(code))
    mine = [g for g in actor.groups if g.partition("@")[2] in scope]
    return mine, [f"{role}@{d}" for role in engine.identity.role_codes() for d in sorted(scope)]


def _scope(engine, actor, filters: Mapping) -> tuple[_Shape, dict] | None:
    """The shape and the parameters of the actor's inbox under the filters; None when nothing can match."""
    people = [actor.username, *actor.covers]
    groups, sole_groups = list(actor.groups), list(actor.groups)
    params: dict = {"people": people}
    given = []
    if filters.get("stage"):
        given.append("stage")
        params["stage"] = str(filters["stage"])
    if filters.get("item"):
        given.append("item")
        params["item"] = str(filters["item"])
    if filters.get("text"):
        needle = str(filters["text"]).strip().lower()
        if SEARCH_SEPARATOR in needle:
            return None  # the search text joins the fields with it: such a text never matches a single field
        given.append("text")
        params["pattern"] = _like(needle)
    if filters.get("department"):
        # only tasks offered to a group of the department's scope, and only through the actor's groups there
        given.append("department")
        groups, params["every"] = _department_groups(engine, actor, filters["department"])
        sole_groups = [g for g in groups if g in set(params["every"])]  # a task's only group: in scope by itself
    assignee = filters.get("assignee") or None
    if assignee == "me":
        assignee = actor.username
    unclaimed = assignee in (None, "unassigned")
    owners = people if assignee is None else [] if assignee == "unassigned" else [p for p in people if p == assignee]
    sole_groups = list(dict.fromkeys(sole_groups)) if unclaimed else []
    if not owners and not unclaimed:
        return None
    params.update(owners=owners, groups=groups, **{f"group_{i}": g for i, g in enumerate(sole_groups)})
    return _Shape(bool(owners), len(sole_groups), unclaimed, bool(groups), tuple(given)), params


def _parts(shape: _Shape) -> list:
    """The open tasks the actor may see, narrowed by the filters, as disjoint parts to UNION ALL (assigned to them
    or a covered colleague; unclaimed and offered to one of their groups only, one part per group, read from the
    inbox index in due order; unclaimed and offered otherwise, to several groups or by name, read with the
    candidates), each selecting the columns the inbox sorts and colours by."""
    narrow = {
        "stage": HumanTask.bpmn_id == bindparam("stage"),
        "item": HumanTask.item_code == bindparam("item"),
        # receipt number, item name or applicant containing the text, whatever the letter case
        "text": HumanTask.search_text.like(bindparam("pattern"), escape="\\"),
    }
    narrow = [narrow[f] for f in shape.filters if f in narrow]
    in_scope = []
    if "department" in shape.filters:
        in_scope.append(exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.kind == "group",
                                       TaskCandidate.name.in_(bindparam("every", expanding=True))))  # fmt: skip
    columns = (HumanTask.id, HumanTask.due_at, HumanTask.created_at, HumanTask.warn_at, HumanTask.statutory_due_at,
               HumanTask.stopped_at, HumanTask.stopped_colour)  # fmt: skip
    # 'open' written out, not bound: a prepared statement's generic plan can then still use the partial index
    is_open, unclaimed = HumanTask.state == literal_column("'open'"), HumanTask.assignee.is_(None)
    parts = []
    if shape.owners:
        owners = HumanTask.assignee.in_(bindparam("owners", expanding=True))
        parts.append(select(*columns).where(is_open, owners, *narrow, *in_scope))
    for i in range(shape.sole_groups):
        parts.append(select(*columns).where(is_open, unclaimed, HumanTask.offered_to == bindparam(f"group_{i}"),
                                            *narrow))  # fmt: skip
    if shape.unclaimed:
        offers = [and_(TaskCandidate.kind == "user", TaskCandidate.name.in_(bindparam("people", expanding=True)))]
        if shape.groups:
            offers.append(and_(TaskCandidate.kind == "group",
                               TaskCandidate.name.in_(bindparam("groups", expanding=True))))  # fmt: skip
        offered = exists().where(TaskCandidate.task_id == HumanTask.id, or_(*offers))
        parts.append(select(*columns).where(is_open, unclaimed, HumanTask.offered_to.is_(None), offered, *narrow,
                                            *in_scope))  # fmt: skip
    return parts


def _union(parts: list):
    return union_all(*parts) if len(parts) > 1 else parts[0]


def _order(columns, sort: str) -> tuple:
    """ORDER BY of a sort over columns named id, due_at and created_at; tasks without a due instant come last."""
    return {
        "due": (columns.due_at.asc().nulls_last(), columns.created_at, columns.id),
        "-due": (columns.due_at.desc().nulls_last(), columns.created_at, columns.id),
        "created": (columns.created_at, columns.id),
        "-created": (columns.created_at.desc(), columns.id),
    }[sort]


@functools.lru_cache(maxsize=256)
def _counting(shape: _Shape):
    """The colour tally of the visible tasks: the parts merged, each row coloured once (`colour.tally`)."""
    return colour.tally(_merged_clock(_union(_parts(shape)).subquery("visible")), _AT)


def _merged_clock(merged) -> Columns:
    """The clock of the merged parts' rows, as `_CLOCK` of the task rows."""
    return Columns(merged.c.due_at, merged.c.warn_at, merged.c.statutory_due_at, merged.c.stopped_at.is_not(None),
                   merged.c.stopped_colour)  # fmt: skip


@functools.lru_cache(maxsize=256)
def _paging(shape: _Shape, sort: str, colours: tuple[str, ...]):
    """One page of the merged parts with each row's colour, task columns and case receipt number and status.

    Each part gives its first `first` rows of the sort (for a group's tasks an index range read in due order),
    the page is taken from their merge: a page reads about page × per_page rows per part, not every visible
    task. The cases are read by key (receipt number, status), never their JSON."""
    parts = _parts(shape)
    if colours:
        parts = [p.where(colour.colour_in(_CLOCK, colours, _AT)) for p in parts]
    heads = [select(*h.c).select_from(h) for h in
             (p.order_by(*_order(HumanTask, sort)).limit(bindparam("first")).subquery() for p in parts)]  # fmt: skip
    merged = _union(heads).subquery("heads")
    return (
        select(colour.colour_sql(_merged_clock(merged), _AT).label("colour"), *_ROW, Case.receipt_no, Case.status)
        .join(HumanTask, HumanTask.id == merged.c.id).join(Case, Case.id == HumanTask.case_id)
        .order_by(*_order(merged.c, sort)).limit(bindparam("per_page")).offset(bindparam("skip"))
    )  # fmt: skip


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


def _row(task, cal, at: colour.Thresholds, actor) -> InboxRow:
    """A line of the page: the task with its colour (the SQL's) and the days left to its due instant."""
    shown = colour.badge(cal, at, task.due_at, task.warn_at, task.statutory_due_at, task.stopped_at,
                         task.stopped_colour)  # fmt: skip
    shown = shown or {"days_left": None, "provisional": False, "stopped": False}
    return InboxRow(
        task.id, task.case_id, task.receipt_no, task.bpmn_id, task.name, task.assignee,
        tuple(task.candidate_groups or ()), task.form_key, task.created_at, task.due_at, task.warn_at,
        task.statutory_due_at, task.item_code, task.item_name, task.department, task.applicant_name, task.status,
        task.colour, shown["days_left"], shown["provisional"], shown["stopped"], policy.on_behalf_of(actor, task),
    )  # fmt: skip


def inbox(engine, actor, filters: Mapping | None = None, sort: str = "due", page: int = 1,
          per_page: int = 20) -> tuple[list[InboxRow], int, dict[str, int]]:  # fmt: skip
    """(rows of the page, total matching, counts per colour over the filters other than colour)."""
    filters = dict(filters or {})
    page, per_page = _check(filters, sort, page, per_page)
    colours = _colours(filters)
    counts = dict.fromkeys(COLOURS, 0)
    scope = _scope(engine, actor, filters)
    if scope is None:
        return [], 0, counts
    shape, params = scope
    now = engine.now()
    cal = calendar_for(engine)
    at = colour.thresholds(cal, now, colour.policy_of(engine))
    params.update(at.params("inbox"))
    # two statements that need no common snapshot (each has its own under READ COMMITTED anyway)
    with engine.db.lookup_session() as session:
        for name, n in colour.tally_colours(session.execute(_counting(shape), params)).items():
            counts[name] += n
        total = sum(n for c, n in counts.items() if not colours or c in colours)
        if per_page == 0 or total == 0:
            return [], total, counts
        params.update(first=page * per_page, per_page=per_page, skip=(page - 1) * per_page)
        picked = session.execute(_paging(shape, sort, tuple(dict.fromkeys(colours))), params).all()
    return [_row(task, cal, at, actor) for task in picked], total, counts


def may_see(actor, task: HumanTask) -> bool:
    """Whether the task is the actor's, a covered colleague's, or offered to them (whatever its state): the
    permission policy's `see_task`."""
    return policy.decide(policy.Subject(actor), "see_task", policy.Target(task=task)).allowed
