"""The engine's notion of "now": the home of the clock SpiffWorkflow's timers read.

SpiffWorkflow's timers call datetime.now(timezone.utc) directly. The platform's clock (a test clock in tests)
is installed for the duration of each engine operation through a context variable; outside one, timers read
the real time as SpiffWorkflow would.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

_now: contextvars.ContextVar[Callable[[], datetime]] = contextvars.ContextVar(
    "govflow_now", default=lambda: datetime.now(UTC)
)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        current = _now.get()()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


_timer_module.datetime = _ClockedDatetime


class clock_context:
    """Run engine code with `now` taken from the given callable."""

    def __init__(self, now: Callable[[], datetime]):
        self._now = now

    def __enter__(self):
        self._token = _now.set(self._now)

    def __exit__(self, *exc):
        _now.reset(self._token)
