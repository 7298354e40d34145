"""The append-only audit trail: one hash chain per case, so an edited or deleted row is detectable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent

GENESIS = "0" * 64


def _digest(prev_hash: str, case_id: str, seq: int, at: datetime, actor: str, action: str,
            task_id: str | None, bpmn_id: str | None, payload: dict) -> str:  # fmt: skip
    body = json.dumps(
        [case_id, seq, at.isoformat(timespec="microseconds"), actor, action, task_id, bpmn_id, payload],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def append(session: Session, case, at: datetime, actor: str, action: str, payload: dict,
           task_id: str | None = None, bpmn_id: str | None = None) -> AuditEvent:  # fmt: skip
    """Append one event to the case's chain. The caller holds the case row locked; its trail head moves on."""
    seq, prev = case.trail_seq + 1, case.trail_hash
    payload = json.loads(json.dumps(payload, ensure_ascii=False, default=str))
    event = AuditEvent(
        case_id=case.id, seq=seq, at=at, actor=actor, action=action, task_id=task_id, bpmn_id=bpmn_id,
        payload=payload, prev_hash=prev,
        hash=_digest(prev, case.id, seq, at, actor, action, task_id, bpmn_id, payload),
    )  # fmt: skip
    session.add(event)
    case.trail_seq, case.trail_hash = seq, event.hash
    return event


@dataclass(frozen=True)
class ChainReport:
    case_id: str
    events: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(session: Session, case_id: str) -> ChainReport:
    """Recompute the chain of one case; report the first event whose content or link does not match."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)).all()
    prev = GENESIS
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            return ChainReport(case_id, len(events), False, expected_seq, f"event {expected_seq} is missing")
        if ev.prev_hash != prev:
            return ChainReport(case_id, len(events), False, ev.seq, "link to the previous event is broken")
        digest = _digest(prev, ev.case_id, ev.seq, ev.at, ev.actor, ev.action, ev.task_id, ev.bpmn_id, ev.payload)
        if digest != ev.hash:
            return ChainReport(case_id, len(events), False, ev.seq, "content does not match its hash")
        prev = ev.hash
    return ChainReport(case_id, len(events), True)
