"""Calendar service (`engine.calendar`): the working-day calendar as the platform counts with it, and the decisions
that change it (a local override, an import of overrides, a seed of the official schedule), one transaction each.

Every change drops the cached calendar, so the next deadline in this process is counted with it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from engine import calendar, deadlines
from engine.calendar import WorkdayCalendar
from engine.errors import InvalidData


class CalendarService:
    def __init__(self, engine):
        self.engine = engine

    def current(self) -> WorkdayCalendar:
        """The calendar as it is stored now (not a cached copy)."""
        deadlines.forget_calendar(self.engine)
        return deadlines.calendar_for(self.engine)

    def set_day(self, day: date, is_workday: bool, reason: str) -> None:
        """Record a local decision that `day` is (not) a working day; a reason is required."""
        with self.engine.db.write_session() as session, session.begin():
            try:
                calendar.set_override(session, day, is_workday, reason)
            except ValueError as exc:
                raise InvalidData(str(exc)) from None
        deadlines.forget_calendar(self.engine)

    def import_overrides(self, path: Path | str) -> int:
        """Import local overrides from a CSV file `date,workday|rest,reason`: every row is checked first, and a
        bad file writes nothing (the error names each bad line and field). Returns how many were written."""
        with self.engine.db.write_session() as session, session.begin():
            try:
                count = calendar.import_overrides(session, path)
            except ValueError as exc:
                raise InvalidData(str(exc)) from None
        deadlines.forget_calendar(self.engine)
        return count

    def seed(self, years: range | None = None) -> tuple[int, range]:
        """Seed (or refresh) the official schedule of `years` (default: every year the package covers) from the
        holidays package, local overrides kept. Returns (rows written, the years)."""
        span = years if years is not None else calendar.package_years()
        with self.engine.db.write_session() as session, session.begin():
            written = calendar.seed(session, span)
        deadlines.forget_calendar(self.engine)
        return written, span
