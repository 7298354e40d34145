"""The time-limit functions diagram scripts, conditions and timer expressions call (sandbox globals).

Every function returns plain values: instants as timezone-aware ISO strings (a timer needs a string, not a
datetime), so a diagram can write `timeDate = deadline_warn('review')`. Functions about a case's clocks work
inside a case step only; the calendar functions work anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from engine import deadlines, escalation
from engine.clock import LOCAL_TZ
from engine.errors import InvalidData
from engine.stage_clocks import StepClocks
from engine.step import current_step

NAMES = (
    "now", "workdays_after", "days_after", "start_limit", "end_limit", "deadline", "deadline_warn",
    "clock_stopped", "limit_days_left", "extend_limit", "alert",
)  # fmt: skip


def _step_clocks(what: str) -> StepClocks:
    ctx = current_step()
    if ctx is None:
        raise InvalidData(f"{what}() works only while a case runs (inside a diagram script or timer)")
    return StepClocks.of(ctx)


def _start_day(engine, start) -> date:
    if start is None:
        return deadlines.local_day(engine.now())
    if isinstance(start, datetime):
        return deadlines.local_day(start) if start.tzinfo else start.date()
    if isinstance(start, date):
        return start
    try:
        parsed = datetime.fromisoformat(str(start))
    except ValueError:
        raise InvalidData(f"start {start!r} is not an ISO date or time") from None
    return deadlines.local_day(parsed) if parsed.tzinfo else parsed.date()


def _count(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidData(f"{what}: the number of days must be a whole number >= 0, got {n!r}")
    return n


def script_functions(engine) -> dict[str, Callable]:
    """The functions to offer in the engine's sandbox."""

    def now() -> str:
        """The engine's now, as an aware ISO string in local time."""
        return engine.now().astimezone(LOCAL_TZ).isoformat()

    def workdays_after(n, start=None) -> str:
        """The end (23:59:59) of the n-th working day after `start` (default today; start day not counted)."""
        cal = deadlines.calendar_for(engine)
        return deadlines.end_of(
            cal.add_workdays(_start_day(engine, start), _count(n, "workdays_after")).day
        ).isoformat()

    def days_after(n, start=None) -> str:
        """The end of the n-th calendar day after `start`, moved to the next working day if it is a rest day."""
        cal = deadlines.calendar_for(engine)
        return deadlines.end_of(cal.add_days(_start_day(engine, start), _count(n, "days_after")).day).isoformat()

    return {
        "now": now, "workdays_after": workdays_after, "days_after": days_after, "start_limit": start_limit,
        "end_limit": end_limit, "deadline": deadline, "deadline_warn": deadline_warn, "clock_stopped": clock_stopped,
        "limit_days_left": limit_days_left, "extend_limit": extend_limit, "alert": alert,
    }  # fmt: skip


# The stage-clock functions reach the clocks of the step they are called in (see _step_clocks).
def start_limit(stage, statutory=None, promised=None, basis=None) -> str | None:
    """Start a stage clock spanning several elements (e.g. 'case'); returns its promised due instant."""
    clocks = _step_clocks("start_limit")
    clocks.start(stage, None, statutory, promised, basis)
    due = clocks.status(stage).promised_due
    return due.isoformat() if due else None


def end_limit(stage) -> None:
    """Stop a stage clock for good (the stage is done)."""
    clocks = _step_clocks("end_limit")
    clocks.clock(stage)
    clocks.end(stage)


def deadline(stage="case", kind="promised") -> str:
    """The due instant of a stage's promised or statutory limit, clock stops and extension applied."""
    if kind not in ("promised", "statutory"):
        raise InvalidData(f"deadline kind must be 'promised' or 'statutory', not {kind!r}")
    status = _step_clocks("deadline").status(stage)
    due = status.promised_due if kind == "promised" else status.statutory_due
    if due is None:
        raise InvalidData(f"stage '{stage}' has no {kind} limit")
    return due.isoformat()


def deadline_warn(stage="case") -> str:
    """When the stage turns yellow (≤ 2 working days left or ≥ 80 % of the promised limit used)."""
    status = _step_clocks("deadline_warn").status(stage)
    if status.warn_at is None:
        raise InvalidData(f"stage '{stage}' has no limit to warn about")
    return status.warn_at.isoformat()


def clock_stopped(stage="case") -> bool:
    """Whether the stage's clock is standing still now."""
    return _step_clocks("clock_stopped").status(stage).stopped


def limit_days_left(stage="case") -> int:
    """Working days left until the promised due day (negative when overdue)."""
    left = _step_clocks("limit_days_left").status(stage).days_left
    if left is None:
        raise InvalidData(f"stage '{stage}' has no limit")
    return left


def extend_limit(stage, by, basis, approved_by) -> str:
    """The one lawful extension of a stage's limit; returns the new promised due instant."""
    clocks = _step_clocks("extend_limit")
    clocks.extend(stage, by, basis, approved_by)
    return clocks.status(stage).promised_due.isoformat()


def alert(kind, stage="case", message=None) -> int:
    """Raise a supervision alert (yellow, red, red_plus or a rule code); red_plus adds a supervision letter.
    Returns the alert id (an alert already raised for this stage run is not raised again)."""
    clocks = _step_clocks("alert")
    return escalation.raise_alert(clocks, kind, stage, message).id
