"""Statutory working-day calendar (工作日历).

Every limit an agency must meet under 行政许可法 Art 82 is counted in working days (工作日):
statutory holidays removed, official adjusted working days (调休上班, a Saturday or Sunday declared
a working day) added. Other laws count some periods in calendar days (行政处罚法 Art 85,
行政复议法 Art 88). All follow the fallback rule of 民事诉讼法 Art 85: the start day is not
counted, and a period ending on a rest day ends on the next working day.

The calendar is data the service owns (table ``calendar_days``), seeded from the ``holidays``
package, which carries the State Council's yearly schedule (国务院办公厅《关于 N 年部分节假日安排
的通知》), plus local overrides. Only days that differ from the weekend rule are stored. A year
the data does not cover is counted by the weekend rule alone and every result touching it is
flagged provisional: its 调休 are only published in November of the year before.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from time import monotonic
from types import MappingProxyType

import holidays
from sqlalchemy import select

from engine.clock import LOCAL_TZ
from engine.store.models import CalendarDay

DEFAULT_TZ = LOCAL_TZ  # working days are days on the service centre's wall clock: the one configured zone
LOCAL_SOURCE = "local"
PACKAGE_VERSION = holidays.__version__
PACKAGE_SOURCE = f"holidays-{PACKAGE_VERSION}"
WEEKEND_WORKDAY_NAME = "调休上班"
# The package's China data is checked against the official notices from 2001 on.
FIRST_COVERED_YEAR = 2001

__all__ = [
    "DEFAULT_TZ", "DueDate", "WorkdayCalendar", "calendar_for", "forget_calendar", "import_overrides",
    "package_years", "seed", "seed_rows", "set_override",
]  # fmt: skip


def package_years() -> range:
    """Years for which the ``holidays`` package carries the official schedule, 调休 included.

    For later years the package still invents holidays from the lunar calendar, but without the 调休 that
    are only announced each November, so those years are not treated as covered.
    """
    try:
        from holidays.countries.china import ChinaStaticHolidays  # a private module of the package: may move

        last = max(ChinaStaticHolidays.special_public_holidays)
    except (ImportError, AttributeError, ValueError):  # layout changed: fall back to the 调休 data itself
        last = max(d.year for d in holidays.China(years=FIRST_COVERED_YEAR).weekend_workdays)
    return range(FIRST_COVERED_YEAR, last + 1)


def _weekend_rule(d: date) -> bool:
    return d.weekday() < 5


def _weekdays_through(d: date) -> int:
    """Mon-Fri days from 0001-01-01 (a Monday) through d."""
    weeks, rest = divmod(d.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


def _as_date(value: date | datetime) -> date:
    # An aware instant is read on the service centre's wall clock; a naive one is taken as already local.
    if isinstance(value, datetime):
        return (value.astimezone(DEFAULT_TZ) if value.tzinfo else value).date()
    return value


@dataclass(frozen=True)
class DueDate:
    """A computed due day; ``provisional`` when a day it depends on lies in a year the data does not cover."""

    day: date
    provisional: bool

    def end_of_day(self, tz: tzinfo = DEFAULT_TZ) -> datetime:
        """The deadline instant: 23:59:59 of the due day in ``tz`` (timezone-aware)."""
        return datetime.combine(self.day, time(23, 59, 59), tzinfo=tz)


class WorkdayCalendar:
    """Immutable snapshot of calendar data. Pure computation, no DB access.

    ``exceptions`` maps a day to whether it is a working day, for days that differ from the weekend
    rule (local overrides may also restate a normal day); ``covered_years`` are the years whose
    official schedule is known.
    """

    __slots__ = ("_exceptions", "_covered", "_names", "_sorted")

    def __init__(
        self,
        exceptions: Mapping[date, bool],
        covered_years: Iterable[int],
        names: Mapping[date, str] | None = None,
    ):
        self._exceptions = MappingProxyType(dict(exceptions))
        self._covered = frozenset(covered_years)
        self._names = MappingProxyType(dict(names or {}))
        self._sorted = sorted(self._exceptions)

    @property
    def exceptions(self) -> Mapping[date, bool]:
        """Read-only view of the days that do not follow the weekend rule."""
        return self._exceptions

    @property
    def covered_years(self) -> frozenset[int]:
        """Years whose official schedule is in the data."""
        return self._covered

    @classmethod
    def from_holidays(cls, years: range | Iterable[int]) -> WorkdayCalendar:
        """Seed straight from the ``holidays`` package; years it does not cover stay on the weekend rule."""
        covered = set(years) & set(package_years())
        if not covered:
            return cls({}, set())
        # Neighbouring years too: a 调休 day can sit in the year before the holiday it pays for.
        span = range(min(covered) - 1, max(covered) + 2)
        cn = holidays.China(years=span, categories=("public",), language="zh_CN")
        exceptions: dict[date, bool] = {}
        names: dict[date, str] = {}
        for d, name in cn.items():
            if d.year in covered and _weekend_rule(d):
                exceptions[d], names[d] = False, name
        for d in cn.weekend_workdays:
            if d.year in covered and not _weekend_rule(d):
                exceptions[d], names[d] = True, WEEKEND_WORKDAY_NAME
        return cls(exceptions, covered, names)

    @classmethod
    def from_session(cls, session) -> WorkdayCalendar:
        """Load from the ``calendar_days`` rows; years with seeded (non-local) rows count as covered."""
        rows = session.scalars(select(CalendarDay)).all()
        return cls(
            {r.day: r.is_workday for r in rows},
            {r.day.year for r in rows if r.source != LOCAL_SOURCE},
            {r.day: r.name or r.reason for r in rows if r.name or r.reason},
        )

    @classmethod
    def of_service(cls, session) -> WorkdayCalendar:
        """The service's calendar: the ``calendar_days`` rows of the seeded years, the ``holidays`` package for the
        years it covers that were never seeded (so a fresh install counts National Day right), local overrides on
        top. Seeded and package years count as covered."""
        stored = cls.from_session(session)
        package = _package_calendar(frozenset(package_years()) - stored.covered_years)
        # Stored rows win: in an unseeded year only local overrides are stored, and they override the package.
        exceptions = {**package.exceptions, **stored.exceptions}
        names = {**package._names, **stored._names}
        return cls(exceptions, stored.covered_years | package.covered_years, names)

    def is_workday(self, d: date) -> bool:
        """Whether d is a working day: stored exception first, else Monday to Friday."""
        d = _as_date(d)
        return self._exceptions.get(d, _weekend_rule(d))

    def is_provisional(self, d: date) -> bool:
        """Whether d's year is outside the covered data (weekend rule only)."""
        return _as_date(d).year not in self._covered

    def _provisional(self, first: date, last: date) -> bool:
        """Whether any day in [first, last] lies in an uncovered year (False for an empty range)."""
        return first <= last and any(y not in self._covered for y in range(first.year, last.year + 1))

    def add_workdays(self, start: date | datetime, n: int) -> DueDate:
        """The n-th working day after start (行政许可法 Art 82; start day not counted, 民事诉讼法 Art 85)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        start = _as_date(start)
        day, left = start, n
        while left:
            day += timedelta(days=1)
            left -= self.is_workday(day)
        return DueDate(day, self._provisional(start + timedelta(days=1), day))

    def add_days(self, start: date | datetime, n: int) -> DueDate:
        """n calendar days after start, start not counted; a period ending on a rest day ends on the
        next working day (民事诉讼法 Art 85)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        start = _as_date(start)
        day = start + timedelta(days=n)
        while not self.is_workday(day):
            day += timedelta(days=1)
        # The days in between do not matter for calendar days, only the end day and any rest days after it.
        return DueDate(day, self._provisional(start + timedelta(days=min(n, 1)), day))

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative (the count in (end, start]) if end < start."""
        start, end = _as_date(start), _as_date(end)
        if end < start:
            return -self.workdays_between(end, start)
        count = _weekdays_through(end) - _weekdays_through(start)
        for d in self._sorted[bisect_right(self._sorted, start) : bisect_right(self._sorted, end)]:
            count += int(self._exceptions[d]) - int(_weekend_rule(d))
        return count

    def year(self, y: int) -> list[tuple[date, bool, str | None]]:
        """Every day of year y as (day, is_workday, name) for display (``calendar show``)."""
        first = date(y, 1, 1)
        days = (first + timedelta(days=i) for i in range((date(y + 1, 1, 1) - first).days))
        return [(d, self.is_workday(d), self._names.get(d)) for d in days]

    def __repr__(self) -> str:
        years = sorted(self._covered)
        span = f"{years[0]}-{years[-1]}" if years else "none"
        return f"<WorkdayCalendar covered={span} exceptions={len(self._exceptions)}>"


@lru_cache(maxsize=8)
def _package_calendar(years: frozenset[int]) -> WorkdayCalendar:
    return WorkdayCalendar.from_holidays(years)


# --- the engine's calendar ---------------------------------------------------------------------------------
CALENDAR_TTL = 60.0  # seconds a loaded calendar is reused; a change made by another process shows after this


def calendar_for(engine, session=None) -> WorkdayCalendar:
    """The engine's working-day calendar (`WorkdayCalendar.of_service`), the one every due date, colour and
    working-day count reads: loaded once and reused for CALENDAR_TTL seconds, or until `forget_calendar`."""
    cached = getattr(engine, "_workday_calendar", None)
    if cached is not None and monotonic() - cached[0] < CALENDAR_TTL:
        return cached[1]
    if session is None:
        with engine.db.session() as own:
            cal = WorkdayCalendar.of_service(own)
    else:
        cal = WorkdayCalendar.of_service(session)
    engine._workday_calendar = (monotonic(), cal)
    return cal


def forget_calendar(engine) -> None:
    """Drop the engine's loaded calendar, so the next read loads it again (the calendar service's changes call it)."""
    engine._workday_calendar = None


def seed_rows(years: range | Iterable[int]) -> list[dict]:
    """``CalendarDay`` rows for ``years`` from the ``holidays`` package (uncovered years yield nothing)."""
    cal = WorkdayCalendar.from_holidays(years)
    return [
        {
            "day": d,
            "is_workday": cal.exceptions[d],
            "name": cal._names.get(d),
            "source": PACKAGE_SOURCE,
            "version": PACKAGE_VERSION,
            "reason": None,
        }
        for d in sorted(cal.exceptions)
    ]


def seed(session, years: range | Iterable[int]) -> int:
    """Insert or refresh the seeded rows for ``years``, leaving local overrides alone.

    Seeded rows of those years that the package no longer lists are removed. Returns the number of rows
    inserted, changed or removed. Flushes; committing is the caller's business.
    """
    years = set(years)  # may be a one-shot iterable
    rows = seed_rows(years)
    covered = years & set(package_years())
    if not covered:
        return 0
    lo, hi = date(min(covered), 1, 1), date(max(covered), 12, 31)
    existing = {r.day: r for r in session.scalars(select(CalendarDay).where(CalendarDay.day.between(lo, hi)))}
    written = 0
    for row in rows:
        current = existing.pop(row["day"], None)
        if current is None:
            session.add(CalendarDay(**row))
            written += 1
        elif current.source != LOCAL_SOURCE and any(getattr(current, k) != v for k, v in row.items()):
            for key, value in row.items():
                setattr(current, key, value)
            written += 1
    for day, stale in existing.items():
        if stale.source != LOCAL_SOURCE and day.year in covered:
            session.delete(stale)
            written += 1
    session.flush()
    return written


def set_override(session, day: date, is_workday: bool, reason: str) -> None:
    """Record a local decision that ``day`` is (not) a working day; ``reason`` is required. Flushes only."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError(f"day must be a date, got {day!r}")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("a local calendar override needs a reason")
    row = session.get(CalendarDay, day) or CalendarDay(day=day)
    row.is_workday = bool(is_workday)
    row.reason = reason.strip()
    row.name = row.reason[:100]  # the name column is short; the full text stays in reason
    row.source = LOCAL_SOURCE
    # For a local row the version records when the decision was entered.
    row.version = datetime.now(DEFAULT_TZ).isoformat(timespec="seconds")
    session.add(row)
    session.flush()


_KINDS = {"workday": True, "rest": False}


def import_overrides(session, path) -> int:
    """Import local overrides from a UTF-8 CSV file ``date,workday|rest,reason`` (header row optional).

    All rows are checked before anything is written: a bad file raises ValueError naming the file, line and
    field of every bad row and leaves the session untouched. Returns the number of overrides written.
    """
    parsed: list[tuple[date, bool, str]] = []
    errors: list[str] = []
    seen: dict[date, int] = {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            first = True
            for fields in reader:
                line = reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if first and fields[0].strip().lower() == "date":
                    first = False
                    continue  # header row
                first = False
                problem = _check_row(fields, line, seen)
                if isinstance(problem, str):
                    errors.append(f"{path}: line {line}: {problem}")
                else:
                    parsed.append(problem)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if errors:
        raise ValueError("calendar overrides not imported:\n" + "\n".join(errors))
    for day, is_workday, reason in parsed:
        set_override(session, day, is_workday, reason)
    return len(parsed)


def _check_row(fields: list[str], line: int, seen: dict[date, int]) -> tuple[date, bool, str] | str:
    if len(fields) != 3:
        return f"expected 3 fields (date,workday|rest,reason), got {len(fields)}"
    raw_day, raw_kind, reason = (f.strip() for f in fields)
    try:
        day = datetime.strptime(raw_day, "%Y-%m-%d").date()
    except ValueError:
        return f"field 'date': {raw_day!r} is not a YYYY-MM-DD date"
    if day in seen:
        return f"field 'date': {day} already given on line {seen[day]}"
    seen[day] = line
    if raw_kind.lower() not in _KINDS:
        return f"field 'kind': {raw_kind!r} is not 'workday' or 'rest'"
    if not reason:
        return "field 'reason': a reason is required"
    return day, _KINDS[raw_kind.lower()], reason
