"""Deadlines (时限): statutory and promised limits per stage, clock stops, one lawful extension, and the colour.

A stage clock runs from the moment its stage starts. Its due dates are the start day plus the limit on the
working-day calendar (the start day is not counted, 民事诉讼法 Art 85), moved on by the days the clock stood still
(行政许可法 Art 45; 行政复议法 Art 39) and by its extension. Its colour (green → yellow → red → red_plus) is the one
rule of `engine.colour`, judged on the instants computed here. Everything here is pure computation over a
`WorkdayCalendar`; the database side is `engine.stage_clocks` (inside a case step) and `DeadlineService`
(reads for the inbox).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import select

from engine.calendar import DueDate, WorkdayCalendar, calendar_for, forget_calendar  # noqa: F401 - re-exported
from engine.clock import LOCAL_TZ
from engine.colour import COLOURS, ColourPolicy, colour_of, policy_of, thresholds  # noqa: F401 - re-exported
from engine.errors import InvalidData
from engine.store import ClockStop, StageClock

_LIMIT = re.compile(r"^\s*(\d{1,4})\s*(wd|d)\s*$")

# Reasons a clock may stand still, with the article that allows it; a stop without one of them is refused.
CLOCK_STOP_REASONS = {
    "hearing": "听证（行政许可法第45条、行政处罚法第63条）",
    "testing": "检验（行政许可法第45条）",
    "inspection": "检测（行政许可法第45条）",
    "quarantine": "检疫（行政许可法第45条）",
    "appraisal": "鉴定（行政许可法第45条）",
    "expert_review": "专家评审（行政许可法第45条）",
    "tender": "招标（行政许可法第45条）",
    "auction": "拍卖（行政许可法第45条）",
    "supplement": "补正材料（行政许可法第32条、行政复议法第31条）",
    "suspension": "中止（行政复议法第39条）",
}


@dataclass(frozen=True)
class Limit:
    """A time limit: n working days (`wd`) or n calendar days (`d`)."""

    n: int
    unit: str

    @classmethod
    def parse(cls, text: object, what: str = "limit") -> Limit:
        """`"20wd"` or `"60d"`; anything else raises InvalidData naming `what`."""
        if isinstance(text, Limit):
            return text
        match = _LIMIT.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidData(f"{what}: {text!r} is not a time limit like '20wd' (working days) or '60d' (days)")
        return cls(int(match.group(1)), match.group(2))

    @classmethod
    def optional(cls, text: object, what: str = "limit") -> Limit | None:
        return None if text in (None, "") else cls.parse(text, what)

    def __str__(self) -> str:
        return f"{self.n}{self.unit}"


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime | None  # None: still running


@dataclass(frozen=True)
class ClockFacts:
    """What the computation needs of a stage clock (a `StageClock` row, or built by hand in tests)."""

    stage: str
    started_at: datetime
    ended_at: datetime | None = None
    statutory: Limit | None = None
    promised: Limit | None = None
    basis: str | None = None
    extension: Limit | None = None
    extension_basis: str | None = None
    extension_approved_by: str | None = None
    element: str | None = None
    id: int | None = None

    @classmethod
    def of(cls, row) -> ClockFacts:
        return cls(
            row.stage, row.started_at, row.ended_at, Limit.optional(row.statutory), Limit.optional(row.promised),
            row.basis, Limit.optional(row.extension), row.extension_basis, row.extension_approved_by, row.element,
            row.id,
        )  # fmt: skip


class DueInstants(NamedTuple):
    """The instants a task is due by, as its row keeps them: the promised due instant, and of a stage clock its
    warning instant and statutory due instant (None for a task's own dueDate: the colour rule then warns by the
    working days left)."""

    due: datetime
    warn: datetime | None = None
    statutory: datetime | None = None
    # while the clock stands still: since when, and the colour it had then (which the task keeps meanwhile)
    stopped_at: datetime | None = None
    stopped_colour: str | None = None


@dataclass
class StageStatus:
    """A stage clock at one instant: colour, due instants (end of the due day, aware), days left, flags."""

    stage: str
    colour: str | None
    running: bool
    started_at: datetime
    ended_at: datetime | None
    statutory: str | None
    promised: str | None
    basis: str | None
    promised_due: datetime | None
    statutory_due: datetime | None
    warn_at: datetime | None
    days_left: int | None  # working days after today up to the promised due day; negative when overdue
    used: float | None  # share of the promised limit (with its extension) used
    provisional: bool  # a due date lies in a year the calendar data does not cover
    stopped: bool  # a clock stop is running now
    stopped_days: int  # days stood still, in the limit's unit
    extension: dict | None
    element: str | None = None
    stops: list[dict] = field(default_factory=list)

    def instants(self) -> DueInstants | None:
        """The instants a task due by this clock is due by (None without a limit)."""
        if self.promised_due is None:
            return None
        return DueInstants(self.promised_due, self.warn_at, self.statutory_due)

    def as_json(self) -> dict:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        return out


def local_day(instant: datetime) -> date:
    return instant.astimezone(LOCAL_TZ).date()


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ)


def end_of(day: date) -> datetime:
    """The deadline instant of a due day: 23:59:59 local time."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TZ)


def add(cal: WorkdayCalendar, start: date, limit: Limit) -> DueDate:
    """The due day of `limit` from `start` (start not counted; a calendar-day period ending on a rest day ends
    on the next working day)."""
    return cal.add_workdays(start, limit.n) if limit.unit == "wd" else cal.add_days(start, limit.n)


def merge(stops: Iterable[Interval], until: datetime) -> list[tuple[datetime, datetime]]:
    """Overlapping stops counted once: the union of the intervals, open ones closed at `until`."""
    spans = sorted((s.start, s.end or until) for s in stops)
    merged: list[list[datetime]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged if b > a]


def stopped_days(cal: WorkdayCalendar, clock: ClockFacts, stops: Sequence[Interval], unit: str, at: datetime) -> int:
    """Days the clock stood still up to `at`, in `unit`: working days in (stop day, resume day] for `wd`."""
    lo, hi = clock.started_at, min(clock.ended_at or at, at)
    total = 0
    for a, b in merge(stops, at):
        a, b = max(a, lo), min(b, hi)
        if b <= a:
            continue
        first, last = local_day(a), local_day(b)
        total += cal.workdays_between(first, last) if unit == "wd" else (last - first).days
    return total


def due(cal: WorkdayCalendar, start: date, limit: Limit, stopped: int, extension: Limit | None) -> DueDate:
    """The due day of one limit, moved by the stopped days and the extension."""
    n = limit.n + stopped + (extension.n if extension and extension.unit == limit.unit else 0)
    result = add(cal, start, Limit(n, limit.unit))
    if extension and extension.unit != limit.unit:
        later = add(cal, result.day, extension)
        result = DueDate(later.day, result.provisional or later.provisional)
    return result


def _by_days_left(cal, start: date, due_day: date, policy: ColourPolicy) -> bool:
    """Whether the "days left" half of the yellow rule applies: not to a limit no longer than the warning window,
    which it would turn yellow the moment the stage begins (a 1 wd acceptance stage is not about to expire when
    the application is received); such a limit warns by the share used only."""
    return cal.workdays_between(start, due_day) > policy.warn_workdays


def _warn_day(cal, start: date, due_day: date, total: Limit, stopped: int, policy: ColourPolicy) -> date:
    day = due_day  # first day with at most `warn_workdays` working days left
    while day > start and cal.workdays_between(day - timedelta(days=1), due_day) <= policy.warn_workdays:
        day -= timedelta(days=1)
    if not _by_days_left(cal, start, due_day, policy):
        day = due_day
    need = math.ceil(policy.warn_ratio * total.n - 1e-9) + stopped  # first day with the share used
    used_day = cal.add_workdays(start, need).day if total.unit == "wd" else start + timedelta(days=need)
    return max(start, min(day, used_day))


def stage_status(cal: WorkdayCalendar, clock: ClockFacts, stops: Sequence[Interval], now: datetime,
                 policy: ColourPolicy = ColourPolicy()) -> StageStatus:  # fmt: skip
    """The status of one stage clock at `now` (a finished clock is judged at its end)."""
    at = min(clock.ended_at, now) if clock.ended_at else now
    stops = [s for s in stops if (s.end is None or s.end > clock.started_at) and s.start <= at]
    start = local_day(clock.started_at)
    promised = clock.promised or clock.statutory  # no promise: the law's limit is the promise
    status = StageStatus(
        stage=clock.stage, colour=None, running=clock.ended_at is None, started_at=clock.started_at,
        ended_at=clock.ended_at, statutory=str(clock.statutory) if clock.statutory else None,
        promised=str(clock.promised) if clock.promised else None, basis=clock.basis, promised_due=None,
        statutory_due=None, warn_at=None, days_left=None, used=None, provisional=False,
        stopped=clock.ended_at is None and any(s.end is None or s.end > now for s in stops if s.start <= now),
        stopped_days=0, element=clock.element,
        extension={"by": str(clock.extension), "basis": clock.extension_basis,
                   "approved_by": clock.extension_approved_by} if clock.extension else None,
        stops=[{"start": s.start.isoformat(), "end": s.end.isoformat() if s.end else None} for s in stops],
    )  # fmt: skip
    if promised is None:
        return status
    today = local_day(at)
    stopped = stopped_days(cal, clock, stops, promised.unit, at)
    status.stopped_days = stopped
    promised_due = due(cal, start, promised, stopped, clock.extension)
    status.promised_due = end_of(promised_due.day)
    status.provisional = promised_due.provisional
    if clock.statutory:
        s_stopped = stopped if clock.statutory.unit == promised.unit else stopped_days(
            cal, clock, stops, clock.statutory.unit, at)  # fmt: skip
        statutory_due = due(cal, start, clock.statutory, s_stopped, clock.extension)
        status.statutory_due = end_of(statutory_due.day)
        status.provisional = status.provisional or statutory_due.provisional
    total = promised
    if clock.extension and clock.extension.unit == promised.unit:
        total = Limit(promised.n + clock.extension.n, promised.unit)
    status.warn_at = start_of(_warn_day(cal, start, promised_due.day, total, stopped, policy))
    status.days_left = cal.workdays_between(today, promised_due.day)
    used = cal.workdays_between(start, today) if promised.unit == "wd" else (today - start).days
    status.used = round(max(0, used - stopped) / total.n, 3) if total.n else 1.0
    status.colour = colour_of(thresholds(cal, at, policy), status.promised_due, status.warn_at, status.statutory_due)
    return status


def task_instants(cal: WorkdayCalendar, clock: ClockFacts, stops: Sequence[Interval], now: datetime,
                  policy: ColourPolicy = ColourPolicy()) -> DueInstants | None:  # fmt: skip
    """The instants a task due by `clock` keeps on its row at `now` (None without a limit). While the clock stands
    still they are those of the moment it stopped, with that moment and the colour the clock had then: the task
    keeps that colour until the clock runs again (its due instants move by the stop only then)."""
    status = stage_status(cal, clock, stops, now, policy)
    if not status.stopped:
        return status.instants()
    since = max(s.start for s in stops if s.start <= now and (s.end is None or s.end > now))
    then = stage_status(cal, clock, stops, since, policy)
    instants = then.instants()
    return None if instants is None else instants._replace(stopped_at=since, stopped_colour=then.colour)


def task_clock(clocks: Iterable, bpmn_id: str, data: Mapping | None = None):
    """The clock a user task without a dueDate of its own is due by: the running clock of its element's stage (for
    a multi-instance task the one of its instance, `stage:<value>` with the value among the task's data), else the
    case's running whole-case clock; None when neither runs or the element's clocks cannot be told apart.

    `clocks`: the latest clock of each stage of the case (StageClock rows or ClockFacts)."""
    running = [c for c in clocks if c.ended_at is None]
    own = [c for c in running if c.element == bpmn_id]
    if len(own) > 1:
        values = {str(v) for v in (data or {}).values() if isinstance(v, str | int)}
        own = [c for c in own if c.stage.partition(":")[2] in values]
        return own[0] if len(own) == 1 else None
    return own[0] if own else next((c for c in running if c.stage == "case"), None)


def worst(colours: Iterable[str | None]) -> str | None:
    """The most severe colour of several (None when none has one)."""
    ranked = [COLOURS.index(c) for c in colours if c in COLOURS]
    return COLOURS[max(ranked)] if ranked else None


# --- reading the stored clocks ---------------------------------------------------------------------------------
def stored_clocks(session, case_ids: Sequence[str]) -> dict[str, tuple[list[ClockFacts], list[Interval]]]:
    """The clocks (latest run per stage) and the stops of each case."""
    out: dict[str, tuple[list[ClockFacts], list[Interval]]] = {cid: ([], []) for cid in case_ids}
    if not case_ids:
        return out
    latest: dict[tuple[str, str], ClockFacts] = {}
    for row in session.scalars(select(StageClock).where(StageClock.case_id.in_(case_ids)).order_by(StageClock.id)):
        latest[(row.case_id, row.stage)] = ClockFacts.of(row)
    for (case_id, _), facts in latest.items():
        out[case_id][0].append(facts)
    for row in session.scalars(select(ClockStop).where(ClockStop.case_id.in_(case_ids)).order_by(ClockStop.id)):
        out[row.case_id][1].append(Interval(row.started_at, row.ended_at))
    return out


@dataclass
class CaseLimits:
    """All stage clocks of a case at one instant; `colour` is the case clock's, else the worst running stage's."""

    case_id: str
    colour: str | None
    case: StageStatus | None
    stages: list[StageStatus]
    stopped: bool

    def stage(self, name: str) -> StageStatus | None:
        return next((s for s in self.stages if s.stage == name), None)

    def as_json(self) -> dict:
        case = self.case.as_json() if self.case else None
        return {"case_id": self.case_id, "colour": self.colour, "stopped": self.stopped, "case": case,
                "stages": [s.as_json() for s in self.stages]}  # fmt: skip


def limits_of(cal: WorkdayCalendar, case_id: str, clocks: list[ClockFacts], stops: list[Interval], now: datetime,
              policy: ColourPolicy = ColourPolicy()) -> CaseLimits:  # fmt: skip
    statuses = [stage_status(cal, c, stops, now, policy) for c in clocks]
    case = next((s for s in statuses if s.stage == "case"), None)
    colour = case.colour if case and case.colour else worst(s.colour for s in statuses if s.running)
    stopped = any(s.end is None for s in stops)
    return CaseLimits(case_id, colour, case, statuses, stopped)


def supervision_summary(engine, session, case,
                        stored: tuple[list[ClockFacts], list[Interval]] | None = None) -> dict | None:  # fmt: skip
    """The case clock (else the earliest-due running stage) as the supervision projection stores it.

    `stored`: the case's (latest clocks, stops) when the caller has them already (a case step); else read here."""
    clocks, stops = stored if stored is not None else stored_clocks(session, [case.id])[case.id]
    if not clocks:
        return None
    limits = limits_of(calendar_for(engine, session), case.id, clocks, stops, engine.now(), policy_of(engine))
    main = limits.case or min(
        (s for s in limits.stages if s.promised_due), key=lambda s: s.promised_due, default=None
    )  # fmt: skip
    if main is None:
        return None
    return {
        "warn_at": main.warn_at, "due_at": main.promised_due, "statutory_due_at": main.statutory_due,
        "clock_stopped": limits.stopped, "clock_stop_days": main.stopped_days,
        "extensions": sum(1 for s in limits.stages if s.extension), "provisional": main.provisional,
    }  # fmt: skip
