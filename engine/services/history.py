"""History service: the audit trail of a case and the verification of its hash chain."""

from __future__ import annotations

from sqlalchemy import select

from engine import audit
from engine.case_lookup import find_case
from engine.store import AuditEvent, Case


def event_json(e: AuditEvent) -> dict:
    return {
        "seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "task_id": e.task_id,
        "bpmn_id": e.bpmn_id, "payload": e.payload, "hash": e.hash,
    }  # fmt: skip


class HistoryService:
    def __init__(self, engine):
        self.engine = engine

    def trail(self, case_id: str) -> list[AuditEvent]:
        case_id = self.engine.runtime.get(case_id).id
        with self.engine.db.session() as session:
            return list(
                session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq))
            )

    def verify(self, case_id: str | None = None) -> list[audit.ChainReport]:
        """Verify one case's chain, or every case's."""
        with self.engine.db.session() as session:
            if case_id is not None:
                ids = [find_case(session, case_id).id]
            else:
                ids = list(session.scalars(select(Case.id).order_by(Case.created_at)))
            return [audit.verify(session, cid) for cid in ids]
