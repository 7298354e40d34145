"""Tables of messages and signals between cases: who waits for what, and what was sent (the outbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class EventSubscription(Base):
    """A case waiting at a message or signal catch event: the name, the correlation key (a message's) and the
    element. Rewritten by every step of the case; delivery finds the waiting cases here."""

    __tablename__ = "event_subscriptions"
    __table_args__ = (
        Index("ix_event_subscriptions_lookup", "kind", "name", "correlation_key"),
        Index("ix_event_subscriptions_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # message | signal
    name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str | None] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))


class EventMessage(Base):
    """A message or signal sent into the platform (by a person, by a system through the API, or thrown by a
    case), kept with what became of it: `pending` until delivered, then `delivered` (to waiting cases, or a case
    it started) or `undeliverable` (no case waited, no process starts on it) — never dropped."""

    __tablename__ = "event_messages"
    __table_args__ = (Index("ix_event_messages_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)
    sent_by: Mapped[str] = mapped_column(String(100))
    source_case_id: Mapped[str | None] = mapped_column(String(32))
    source_element: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))  # pending | delivering | delivered | undeliverable
    # [{case_id, receipt_no, outcome: delivered | started | refused, reason}], in delivery order
    outcome: Mapped[list] = mapped_column(JSON)
    settled_at: Mapped[datetime | None]
