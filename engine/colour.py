"""The colour of a time limit (红黄绿灯, 电子监察): one rule, read by Python and written as SQL from the same table.

Local supervision rules differ (DOMAIN.md), so the staging is configuration (`ColourPolicy`, the engine's
`colour_policy`): green → yellow when at most `warn_workdays` working days are left or `warn_ratio` of the promised
limit is used (the clock's `warn_at`) → red once the promised due instant has passed → red+ (supervision letter)
once the statutory due instant has passed, or, when `red_plus_workdays` is set, that many working days after red
as well (the statutory limit stays the hard line whichever comes first).

A clock is judged on its instants — due (promised), warn and statutory due — against `Thresholds`: the instant of
judgement and two instants derived from it on the working-day calendar. `RULES` is the ordered table of the rule;
`colour_of` evaluates it in Python, `colour_sql` / `colour_in` build the SQL CASE and filter condition from the very
same table, so the lists, their counts and the pages cannot disagree.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, and_, bindparam, case, false, func, literal_column, or_, select

from engine.calendar import WorkdayCalendar, calendar_for
from engine.clock import LOCAL_TZ

COLOURS = ("green", "yellow", "red", "red_plus")
# A red+ threshold no due instant reaches: the staging has no "N working days after red".
NEVER = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ColourPolicy:
    """When yellow starts (at most `warn_workdays` working days left, or `warn_ratio` of the promised limit used)
    and when red becomes red+: at the statutory limit (`red_plus_workdays` None, the default), or also that many
    working days after red."""

    warn_workdays: int = 2
    warn_ratio: float = 0.8
    red_plus_workdays: int | None = None

    def __post_init__(self):
        if self.warn_workdays < 0 or not 0 < self.warn_ratio <= 1:
            raise ValueError("colour policy: warn_workdays must be ≥ 0 and warn_ratio in (0, 1]")
        if self.red_plus_workdays is not None and self.red_plus_workdays < 1:
            raise ValueError("colour policy: red_plus_workdays must be at least 1 working day after red (or None)")


def policy_of(engine) -> ColourPolicy:
    """The engine's colour policy (`engine.colour_policy`), else the default."""
    return getattr(engine, "colour_policy", None) or ColourPolicy()


@dataclass(frozen=True)
class Thresholds:
    """The instants a clock's instants are compared with at `now`: a due instant at or before `yellow_until` has
    at most `warn_workdays` working days left; one at or before `red_plus_through` is `red_plus_workdays` working
    days past (NEVER when the policy has no such stage)."""

    now: datetime
    yellow_until: datetime
    red_plus_through: datetime

    def values(self) -> dict[str, datetime]:
        """The thresholds by name, as `colour_sql` / `colour_in` take them."""
        return {name: getattr(self, name) for name in _NAMES}

    def params(self, prefix: str) -> dict[str, datetime]:
        """The values of the bound parameters `bound(prefix, ...)`."""
        return {f"{prefix}_{name}": getattr(self, name) for name in _NAMES}


_NAMES = ("now", "yellow_until", "red_plus_through")


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TZ)


def thresholds(cal: WorkdayCalendar, now: datetime, policy: ColourPolicy) -> Thresholds:
    """The thresholds of `policy` at `now` on the calendar."""
    today = now.astimezone(LOCAL_TZ).date()
    # The last day with at most N working days in (today, day]: the day before the (N+1)-th working day.
    yellow_until = _end_of(cal.add_workdays(today, policy.warn_workdays + 1).day - timedelta(days=1))
    red_plus_through = NEVER
    if policy.red_plus_workdays is not None:
        day, counted = today, 0
        while counted < policy.red_plus_workdays:  # the last day with N working days in (day, today]
            counted += cal.is_workday(day)
            day -= timedelta(days=1)
        red_plus_through = _end_of(day)
    return Thresholds(now, yellow_until, red_plus_through)


def thresholds_for(engine, now: datetime | None = None, session=None) -> Thresholds:
    """The thresholds of the engine's policy on its calendar at `now` (default: the engine's clock)."""
    return thresholds(calendar_for(engine, session), now or engine.now(), policy_of(engine))


def badge(cal: WorkdayCalendar, at: Thresholds, due: datetime | None, warn: datetime | None = None,
          statutory: datetime | None = None, stopped_at: datetime | None = None,
          stopped_colour: str | None = None) -> dict | None:  # fmt: skip
    """What a person is shown of a clock a task is due by: its colour (`colour_of` on its instants; while the
    clock stands still, the colour it had when it stopped), the working days left to the due instant (negative:
    overdue; while stopped, as they were when it stopped), whether the calendar covers the due day yet
    (`provisional`) and whether the clock stands still (`stopped`); None without a due instant."""
    if due is None:
        return None
    stopped = stopped_at is not None and stopped_colour is not None
    today = (stopped_at if stopped else at.now).astimezone(LOCAL_TZ).date()
    due_day = due.astimezone(LOCAL_TZ).date()
    shown = colour_of(at, due, warn, statutory, frozen=stopped_colour if stopped else None)
    return {"colour": shown, "days_left": cal.workdays_between(today, due_day), "stopped": stopped,
            "provisional": cal.is_provisional(due_day), "due": due}  # fmt: skip


# The rule, in order: the first line that holds gives the colour; none holding gives green. A line compares one
# instant of the clock ("due", "warn", "statutory") with a threshold; a missing instant (NULL) never holds.
RULES: tuple[tuple[str, str, str, str], ...] = (
    ("red_plus", "statutory", "<", "now"),
    ("red_plus", "due", "<=", "red_plus_through"),
    ("red", "due", "<", "now"),
    ("yellow", "warn", "<=", "now"),
    ("yellow", "due", "<=", "yellow_until"),
)
# The days-left line stands in for a warn instant: a clock that has one (a stage clock, the supervision row, a
# task due by a stage clock) is warned by it alone — it holds the days-left rule already, and leaves it out for a
# limit no longer than the window (deadlines: a 1 wd acceptance stage is not yellow when it begins); a task's own
# BPMN dueDate has none.
DAYS_LEFT = ("yellow", "due", "<=", "yellow_until")
_PY = {"<": operator.lt, "<=": operator.le}
_INVERSE = {"<": ">=", "<=": ">"}


def colour_of(at: Thresholds, due: datetime | None, warn: datetime | None = None,
              statutory: datetime | None = None, *, frozen: str | None = None,
              untimed: str | None = None) -> str | None:  # fmt: skip
    """The colour of a clock with these instants (`untimed` when it has no due instant; `frozen`: the colour a
    stopped clock keeps)."""
    if frozen is not None:
        return frozen
    if due is None:
        return untimed
    values = {"due": due, "warn": warn, "statutory": statutory}
    for line in RULES:
        colour, instant, op, threshold = line
        value = values[instant]
        if line == DAYS_LEFT and warn is not None:
            continue
        if value is not None and _PY[op](value, getattr(at, threshold)):
            return colour
    return "green"


@dataclass(frozen=True)
class Columns:
    """The SQL side of a clock: its instant columns (`warn` / `statutory` None where the table has none) and, for
    a projection that keeps the colour a stopped clock had, the boolean "stopped" column and the kept colour."""

    due: object
    warn: object = None
    statutory: object = None
    stopped: object = None
    stopped_colour: object = None

    def lines(self):
        """The rule's lines this table can hold, each (colour, instant, op, threshold, column, guard): `guard`, the
        warn column whose value sets the days-left line aside (colour_of's DAYS_LEFT), else None."""
        for line in RULES:
            colour, instant, op, threshold = line
            column = getattr(self, instant)
            if column is not None:
                yield colour, instant, op, threshold, column, self.warn if line == DAYS_LEFT else None

    def _frozen(self, holds: bool):
        if holds:
            return and_(self.stopped.is_(True), self.stopped_colour.is_not(None))
        return or_(self.stopped.is_not(True), self.stopped_colour.is_(None))


_SQL = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _line(instant: str, op: str, column, threshold, holds: bool, guard=None):
    compare = _SQL[op if holds else _INVERSE[op]]
    if guard is not None:  # the line counts only where the clock has no warn instant
        unguarded = _line(instant, op, column, threshold, holds)
        return and_(guard.is_(None), unguarded) if holds else or_(guard.is_not(None), unguarded)
    if instant == "due":  # never NULL once the untimed line is passed
        return compare(column, threshold)
    if holds:
        return and_(column.is_not(None), compare(column, threshold))
    return or_(column.is_(None), compare(column, threshold))


def bound(prefix: str, type_) -> dict[str, object]:
    """Bound parameters for the thresholds (values from `Thresholds.params(prefix)`), so that a statement using
    them is built once."""
    return {name: bindparam(f"{prefix}_{name}", type_=type_) for name in _NAMES}


def colour_sql(cols: Columns, at: Mapping[str, object], untimed: str = "none"):
    """SQL CASE giving the colour `colour_of` gives; `at` maps the threshold names to instants or parameters."""
    whens = []
    if cols.stopped is not None:
        whens.append((cols._frozen(True), cols.stopped_colour))
    whens.append((cols.due.is_(None), _word(untimed)))
    whens += [(_line(i, op, column, at[t], True, g), _word(c)) for c, i, op, t, column, g in cols.lines()]
    return case(*whens, else_=_word("green"))


def _word(colour: str):
    # Written into the statement, not bound: fewer parameters per execution (one of a fixed set of words).
    if colour not in (*COLOURS, "none"):
        raise ValueError(f"not a colour: {colour!r}")
    return literal_column(f"'{colour}'", String)


def colour_in(cols: Columns, colours: Iterable[str], at: Mapping[str, object], untimed: str = "none"):
    """SQL true where `colour_sql` gives one of `colours`: each line giving one of them with every line before it
    failing, written as comparisons of the instant columns (an index on the due instant serves a colour as a
    range)."""
    wanted = set(colours)
    branches, failed = [], []
    if cols.stopped is not None:
        branches.append(and_(cols._frozen(True), cols.stopped_colour.in_(sorted(wanted))))
        failed.append(cols._frozen(False))
    if untimed in wanted:
        branches.append(and_(*failed, cols.due.is_(None)))
    failed.append(cols.due.is_not(None))
    for colour, instant, op, threshold, column, guard in cols.lines():
        if colour in wanted:
            branches.append(and_(*failed, _line(instant, op, column, at[threshold], True, guard)))
        failed.append(_line(instant, op, column, at[threshold], False, guard))
    if "green" in wanted:
        branches.append(and_(*failed))
    return or_(*branches) if branches else false()


def tally(cols: Columns, at: Mapping[str, object], untimed: str = "none"):
    """A statement counting the rows of `cols`' table by colour: one `colour_sql` per row, grouped, so that a row
    is judged once whatever the number of colours (rows: colour, count; `tally_colours` reads them)."""
    shaded = select(colour_sql(cols, at, untimed).label("colour")).subquery("shaded")
    return select(shaded.c.colour, func.count()).group_by(shaded.c.colour)


def tally_colours(rows: Iterable[tuple[str, int]], untimed: str = "none") -> dict[str, int]:
    """The count of each colour (zero for a colour no row has) from the rows of `tally`."""
    counts = dict.fromkeys((*COLOURS, untimed), 0)
    for name, n in rows:
        counts[name] += int(n)
    return counts
