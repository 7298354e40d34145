"""What a procedure rule reads about one case step: the home of `Facts` (the case, the step's event and the
trail before it, the stage clocks and clock stops, the diagram's element facts — each read lazily from the open
transaction) and of `Finding`, what a check reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy import bindparam, select

from engine.store import AuditEvent, ClockStop, StageClock

# Built once (bound at execution): the case's trail before an event.
_TRAIL_BEFORE = (
    select(AuditEvent.seq, AuditEvent.at, AuditEvent.action, AuditEvent.payload)
    .where(AuditEvent.case_id == bindparam("case_id"), AuditEvent.seq < bindparam("seq"))
    .order_by(AuditEvent.seq)
)


@dataclass
class Finding:
    code: str
    stage: str
    message: str
    element: str | None = None


class Facts:
    """What the rules look at for one step, read lazily from the open transaction."""

    def __init__(self, engine, session, case, event, row, clocks=None):
        self.engine, self.session, self.case, self.event, self.row = engine, session, case, event, row
        self._step_clocks = clocks  # the step's CaseClocks (supervision_index), else read here when needed
        self.payload = event.payload if isinstance(event.payload, dict) else {}
        self.submitted = self.payload.get("data") if isinstance(self.payload.get("data"), dict) else {}
        self.data = case.data or {}
        self.now = event.at

    @cached_property
    def elements(self) -> dict:
        return self.engine.bundle(self.session, self.case.process_version_id).elements

    def stage(self, bpmn_id: str) -> str:
        props = (self.elements.get(bpmn_id) or {}).get("properties") or {}
        return props.get("stage") or bpmn_id

    def is_supplement_wait(self, bpmn_id: str) -> bool:
        props = (self.elements.get(bpmn_id) or {}).get("properties") or {}
        return "supplement" in (props.get("stage"), props.get("clock_stop"))

    @cached_property
    def events(self) -> list:
        """The case's trail up to this step's event: (seq, at, action, payload) rows of the stored events, then
        the event itself (pending in the step: read without flushing it first)."""
        with self.session.no_autoflush:
            stored = list(self.session.execute(_TRAIL_BEFORE, {"case_id": self.case.id, "seq": self.event.seq}))
        seen = {ev.seq for ev in stored}
        pending = sorted((o for o in self.session.new if isinstance(o, AuditEvent) and o.case_id == self.case.id
                          and o.seq < self.event.seq and o.seq not in seen), key=lambda o: o.seq)  # fmt: skip
        return [*stored, *pending, self.event]

    def completed_now(self, *stages: str) -> list[str]:
        return [e for e in self.payload.get("completed") or [] if self.stage(e) in stages]

    def completions(self, *stages: str, before_seq: int) -> list[datetime]:
        """When an element of one of `stages` was completed, in order, up to (not including) event `before_seq`."""
        return [ev.at for ev in self.events if ev.seq < before_seq
                and any(self.stage(e) in stages for e in (ev.payload or {}).get("completed") or [])]  # fmt: skip

    @cached_property
    def clocks(self) -> list[StageClock]:
        if self._step_clocks is not None:
            return self._step_clocks.rows
        return list(self.session.scalars(select(StageClock).where(StageClock.case_id == self.case.id)))

    @cached_property
    def stops(self) -> list[ClockStop]:
        if self._step_clocks is not None:
            return self._step_clocks.stops
        return list(self.session.scalars(select(ClockStop).where(ClockStop.case_id == self.case.id)))

    @property
    def process_key(self) -> str:
        return (self.row.process_key if self.row is not None else "") or ""

    def is_enforcement(self) -> bool:
        return self.data.get("item_kind") == "penalty" or any(k in self.process_key for k in ("penalty", "enforcement"))

    def is_licence(self) -> bool:
        """A licence (行政许可): the catalog item says so; a case started without an item, unless its process is
        an enforcement or review-appeal one."""
        kind = self.data.get("item_kind")
        if kind:
            return kind == "license"
        return not self.is_enforcement() and "review_appeal" not in self.process_key
