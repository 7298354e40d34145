"""The platform's one source of "now" (the system clock in service, a settable clock in tests) and its one local
time zone: the service centre's wall clock, by which working days are counted and times are shown to people.

Stored times are UTC. The zone is Asia/Shanghai unless GOVFLOW_TIMEZONE names another (an IANA name such as
Asia/Urumqi); it is read once per process, so the calendar, the deadlines and every display agree on it.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"


def configured_zone(environ=os.environ) -> ZoneInfo:
    """The zone GOVFLOW_TIMEZONE names (default Asia/Shanghai); a name that is no IANA zone is refused by name."""
    name = (environ.get("GOVFLOW_TIMEZONE") or DEFAULT_TIMEZONE).strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"GOVFLOW_TIMEZONE={name!r} is not a time zone name such as {DEFAULT_TIMEZONE}") from None


LOCAL_TZ = configured_zone()


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to, so tests can walk weeks of working days in milliseconds."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware time")
        with self._lock:
            self._now = when.astimezone(UTC)
