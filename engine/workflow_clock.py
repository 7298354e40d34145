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

# SpiffWorkflow adds up a duration's years and months one month at a time and overflows on huge values: a timer
# of P999999999Y ran for minutes holding the case, PT99999999999999999999H raised a bare OverflowError. A duration
# over this is refused when it is parsed, which the adapter reports as a failing timer of the element.
MAX_TIMER_DAYS = 100 * 366
_DAYS_PER = {"years": 366, "months": 31, "weeks": 7, "days": 1, "hours": 1 / 24, "minutes": 1 / 1440,
             "seconds": 1 / 86400}  # fmt: skip
_parse_iso_duration = _timer_module.TimerEventDefinition.parse_iso_duration


def _bounded_duration(expression):
    parsed = _parse_iso_duration(expression)
    if sum(value * _DAYS_PER[unit] for unit, value in parsed.items()) > MAX_TIMER_DAYS:
        raise ValueError(f"the duration {expression} is longer than 100 years: a timer cannot wait that long")
    return parsed


_timer_module.TimerEventDefinition.parse_iso_duration = staticmethod(_bounded_duration)


class clock_context:
    """Run engine code with `now` taken from the given callable."""

    def __init__(self, now: Callable[[], datetime]):
        self._now = now

    def __enter__(self):
        self._token = _now.set(self._now)

    def __exit__(self, *exc):
        _now.reset(self._token)
