"""Tables of time limits: stage clocks (with their extension), clock stops, supervision alerts and letters, and
the notification outbox.

The working-day calendar itself is `CalendarDay` in models.py. Limits are stored as written (`"20wd"`, `"60d"`)
so the due dates always follow the calendar as it is now (a local override moves them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class StageClock(Base):
    """One run of a stage clock of a case (`case`, `review`, `co_review:fire` ...): from start to end, with its
    limits and at most one extension. A stage entered again (a loop back) gets a new row."""

    __tablename__ = "stage_clocks"
    __table_args__ = (
        Index("ix_stage_clocks_case", "case_id", "stage"),
        Index("ix_stage_clocks_open", "ended_at", "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    stage: Mapped[str] = mapped_column(String(200))
    # The BPMN element whose activity runs the clock; None when a script started it (start_limit).
    element: Mapped[str | None] = mapped_column(String(200))
    statutory: Mapped[str | None] = mapped_column(String(20))
    promised: Mapped[str | None] = mapped_column(String(20))
    basis: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # One extension per limit (行政许可法 Art 42; 行政复议法 Art 62): how much, on what basis, approved by whom.
    extension: Mapped[str | None] = mapped_column(String(20))
    extension_basis: Mapped[str | None] = mapped_column(Text)
    extension_approved_by: Mapped[str | None] = mapped_column(String(100))
    extended_at: Mapped[datetime | None]


class ClockStop(Base):
    """A period in which every running stage clock of the case stands still (行政许可法 Art 45, 行政复议法 Art 39)."""

    __tablename__ = "clock_stops"
    __table_args__ = (Index("ix_clock_stops_case", "case_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    reason: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str | None] = mapped_column(Text)
    element: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(100))


class SupervisionAlert(Base):
    """A supervision alert (预警): yellow, red, red_plus or a rule code, for one stage of one case."""

    __tablename__ = "supervision_alerts"
    __table_args__ = (
        Index("ix_alerts_raised", "raised_at"),
        Index("ix_alerts_case", "case_id", "stage", "kind"),
        Index("ix_alerts_department", "department", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    receipt_no: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(200))
    clock_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(64))
    # Who is responsible now: the assignees of the open tasks, else their candidate groups.
    officers: Mapped[list] = mapped_column()
    due_at: Mapped[datetime | None]
    raised_at: Mapped[datetime]
    element: Mapped[str | None] = mapped_column(String(200))


class SupervisionLetter(Base):
    """A supervision letter (督办函) to the responsible department's leader, raised with a red_plus alert."""

    __tablename__ = "supervision_letters"
    __table_args__ = (Index("ix_letters_addressee", "addressed_to", "issued_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    letter_no: Mapped[str] = mapped_column(String(40), unique=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("supervision_alerts.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    department: Mapped[str | None] = mapped_column(String(64))
    addressed_to: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """The notification outbox: written in the same transaction as what it reports, sent afterwards."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_pending", "state", "next_attempt_at"),
        Index("ix_notifications_inbox", "channel", "recipient", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # in_app | email | sms
    recipient: Mapped[str] = mapped_column(String(200))  # user name or candidate group
    address: Mapped[str | None] = mapped_column(String(200))  # e-mail address or phone number
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(32))
    alert_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
