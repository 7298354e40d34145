"""Replay (再现): the diagram state and the submitted data of a case after each event of its audit trail.

Every step's audit event carries `payload.completed` (elements finished during the step) and `payload.active`
(elements waiting or ready after it); task completions and messages carry the submitted `data`. Folding the
trail in order gives, after each event, which elements were completed, active, overdue (an active user task
past its due time at that moment) or errored, and the data as it stood.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from engine.store import AuditEvent, HumanTask

# Actions after which the case's status is known from the action alone.
_STATUS_AFTER = {
    "case_started": "running", "case_suspended": "suspended", "case_resumed": "running",
    "case_terminated": "terminated", "case_error": "error", "case_retried": "running",
}  # fmt: skip


@dataclass(frozen=True)
class Frame:
    """The case as it stood right after one audit event."""

    seq: int
    at: datetime
    actor: str
    action: str
    bpmn_id: str | None
    status: str
    completed: tuple[str, ...]
    active: tuple[str, ...]
    overdue: tuple[str, ...]
    errored: tuple[str, ...]
    data: dict = field(default_factory=dict)
    note: str | None = None

    def to_json(self) -> dict:
        return {
            "seq": self.seq, "at": self.at.isoformat(), "actor": self.actor, "action": self.action,
            "bpmn_id": self.bpmn_id, "status": self.status, "completed": list(self.completed),
            "active": list(self.active), "overdue": list(self.overdue), "errored": list(self.errored),
            "data": self.data, "note": self.note,
        }  # fmt: skip


@dataclass(frozen=True)
class _TaskSpan:
    bpmn_id: str
    opened: datetime
    due: datetime | None
    closed: datetime | None


def _overdue(spans: list[_TaskSpan], active: set[str], at: datetime) -> set[str]:
    """Active elements that had an open user task past its due time at instant `at`."""
    return {
        s.bpmn_id
        for s in spans
        if s.bpmn_id in active and s.due is not None and s.opened <= at and s.due < at
        and (s.closed is None or s.closed > at)
    }  # fmt: skip


def _note(event: AuditEvent) -> str | None:
    payload = event.payload or {}
    for key in ("reason", "message", "to"):
        if payload.get(key):
            return str(payload[key])
    return None


def frames(events: list[AuditEvent], tasks: list[HumanTask]) -> list[Frame]:
    """Fold a case's trail (in sequence order) into one frame per event."""
    spans = [_TaskSpan(t.bpmn_id, t.created_at, t.due_at, t.completed_at) for t in tasks]
    completed: dict[str, None] = {}
    active: set[str] = set()
    errored: set[str] = set()
    data: dict = {}
    status = "running"
    result = []
    for event in events:
        payload = event.payload if isinstance(event.payload, dict) else {}
        for element in payload.get("completed") or []:
            completed[element] = None
        if "active" in payload:
            active = set(payload.get("active") or [])
            if not active and event.action not in _STATUS_AFTER:
                status = "completed"
        if isinstance(payload.get("data"), dict):
            data = {**data, **payload["data"]}
        status = _STATUS_AFTER.get(event.action, status)
        if event.action == "case_error":
            errored = {payload.get("element") or event.bpmn_id} - {None}
        elif event.action in ("case_retried", "case_terminated"):
            errored = set()
        if event.action == "case_terminated":
            active = set()
        result.append(
            Frame(
                seq=event.seq, at=event.at, actor=event.actor, action=event.action, bpmn_id=event.bpmn_id,
                status=status, completed=tuple(c for c in completed if c not in active),
                active=tuple(sorted(active)), overdue=tuple(sorted(_overdue(spans, active, event.at))),
                errored=tuple(sorted(errored)), data=dict(data), note=_note(event),
            )
        )  # fmt: skip
    return result


def replay(engine, case_id: str) -> list[Frame]:
    """The frames of a case's whole trail (case id or receipt number)."""
    case_id = engine.runtime.get(case_id).id
    with engine.db.session() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)))
        tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)))
    return frames(events, tasks)


def current_state(engine, case_id: str, now: datetime | None = None) -> dict:
    """The diagram state now: the last frame, with overdue tasks judged at `now` (default: the engine's now)."""
    case_id = engine.runtime.get(case_id).id
    now = now or engine.now()
    with engine.db.session() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)))
        tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)))
    all_frames = frames(events, tasks)
    if not all_frames:
        return {"completed": [], "active": [], "overdue": [], "errored": [], "status": "unknown"}
    last = all_frames[-1]
    spans = [_TaskSpan(t.bpmn_id, t.created_at, t.due_at, t.completed_at) for t in tasks]
    overdue = _overdue(spans, set(last.active), now) if last.status in ("running", "suspended") else set()
    return {**last.to_json(), "overdue": sorted(overdue)}
