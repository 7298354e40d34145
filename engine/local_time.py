"""Times as a person reads them: a stored instant (UTC) on the service centre's wall clock (`clock.LOCAL_TZ`).

The one home of "a time shown to a person": the page filters, the CLI, the CSV exports and the replay labels all
format through `shown`. Machines get the stored instant itself (JSON: ISO 8601 in UTC with its `+00:00` offset).
A naive datetime or an ISO string without an offset is taken as already on the wall clock: such values come from
what a person typed, never from the store, which hands back aware UTC instants only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from engine.clock import LOCAL_TZ

DAY = "%Y-%m-%d"
MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"
# The customary name of the zone in a Chinese text; any other zone is named by its IANA name and offset.
_CUSTOMARY = {"Asia/Shanghai": "北京时间"}


def local(value: datetime) -> datetime:
    """An aware instant on the local wall clock; a naive one is returned as it is (already wall-clock time)."""
    return value.astimezone(LOCAL_TZ) if value.tzinfo is not None else value


def shown(value: datetime | date | str | None, fmt: str = MINUTES) -> str:
    """A time for a person, on the local wall clock: '2026-09-18 09:30' by default; a date as '2026-09-18';
    '' for nothing; an ISO string is read first (one that is not a time is returned unchanged)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return local(value).strftime(fmt)
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def offset_text(at: datetime | None = None) -> str:
    """The zone's offset from UTC at an instant (default: now), as '+08:00'."""
    offset = (at or datetime.now(LOCAL_TZ)).astimezone(LOCAL_TZ).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def shown_with_offset(value: datetime | None, fmt: str = MINUTES) -> str:
    """`shown` followed by the offset ('2026-09-18 09:30 +08:00'), where nothing else says which clock it is on
    (a line of the command line's output); '-' for nothing."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        return value.strftime(fmt)
    return f"{shown(value, fmt)} {offset_text(value)}"


def zone_label() -> str:
    """Which clock the times are on, for a Chinese heading: 北京时间, or e.g. 'Asia/Urumqi UTC+06:00'."""
    return _CUSTOMARY.get(LOCAL_TZ.key) or f"{LOCAL_TZ.key} UTC{offset_text()}"
