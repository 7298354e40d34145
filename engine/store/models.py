"""Tables of the platform core: process versions, cases, the human-task projection, the audit trail.

Typed SQLAlchemy 2 models. Every timestamp is stored in UTC and comes back timezone-aware, on SQLite too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: govflow stores timezone-aware times only")
        value = value.astimezone(UTC)
        # SQLite keeps no zone: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


class ProcessVersion(Base):
    """One deployed, immutable version of one executable process of a BPMN file."""

    __tablename__ = "process_versions"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_process_key_version"),
        Index("ix_process_key_sha", "key", "sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(500))
    filename: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    dialect: Mapped[str] = mapped_column(String(20))
    # The parsed spec, serialised once per version; case states refer to it instead of embedding it.
    spec: Mapped[str] = mapped_column(Text)
    # Element facts read from the XML at deploy (names, lanes, candidate groups, forms, documentation).
    elements: Mapped[dict] = mapped_column(JSON)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))


class Case(Base):
    """One running or finished case (办件): the workflow state without its spec."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status", "status"),
        Index("ix_cases_next_timer", "next_timer_at"),
        Index("ix_cases_process", "process_version_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(64), unique=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    status: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    lock_version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    next_timer_at: Mapped[datetime | None]
    error_element: Mapped[str | None] = mapped_column(String(200))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Printed on the receipt beside the receipt number: with it a member of the public looks the case up
    # (engine.public_status). Set when the case starts; cases kept before it got one at the upgrade.
    check_code: Mapped[str | None] = mapped_column(String(16))
    started_by: Mapped[str] = mapped_column(String(100))
    # Head of the audit chain, kept on the locked row so appending needs no lookup.
    trail_seq: Mapped[int] = mapped_column(Integer, default=0)
    trail_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """Projection of the workflow's user tasks, kept in step with the state for inbox queries."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_tasks_case", "case_id", "state"),
        Index("ix_tasks_assignee", "state", "assignee", "due_at"),
        Index("ix_tasks_state_due", "state", "due_at"),
        # The inbox: a group's unclaimed open tasks in due order (the page merges these ranges, the colour counts
        # read them whole), and the open unclaimed tasks offered otherwise (offered_to IS NULL). The clock's
        # other instants close the key and, on PostgreSQL, the filters' columns are included, so that counting
        # thousands of tasks by colour is an index-only scan.
        Index(
            "ix_tasks_offered",
            "offered_to",
            "due_at",
            "created_at",
            "id",
            "warn_at",
            "statutory_due_at",
            "stopped_at",
            "stopped_colour",
            postgresql_where=text("state = 'open' AND assignee IS NULL"),
            sqlite_where=text("state = 'open' AND assignee IS NULL"),
            postgresql_include=["bpmn_id", "item_code", "search_text"],
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task id
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_groups: Mapped[list] = mapped_column(JSON)
    candidate_users: Mapped[list] = mapped_column(JSON)
    assignee: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))  # open | completed | cancelled
    form_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # The instants of the clock the task is due by (engine.deadlines.DueInstants): its promised due instant and,
    # when that clock is a stage clock, its warning and statutory due instants (the colour rule reads all three).
    due_at: Mapped[datetime | None]
    warn_at: Mapped[datetime | None]
    statutory_due_at: Mapped[datetime | None]
    # While that clock is stopped (waiting for the applicant, a hearing, an expert ...): when it stopped and the
    # colour it had then, which the task keeps until the clock runs again (as the supervision row does).
    stopped_at: Mapped[datetime | None]
    stopped_colour: Mapped[str | None] = mapped_column(String(16))
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))
    # The inbox projection (engine.inbox_projection), kept by every step for the open rows: the one candidate
    # group when the task is offered to that group only, the case's item, department and applicant, and the
    # lower-cased text the inbox's text filter searches (receipt number, item name, applicant).
    offered_to: Mapped[str | None] = mapped_column(String(200))
    item_code: Mapped[str | None] = mapped_column(String(64))
    item_name: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(64))
    applicant_name: Mapped[str | None] = mapped_column(String(200))
    search_text: Mapped[str | None] = mapped_column(Text)


class TaskCandidate(Base):
    """One candidate group or user of a task; the inbox joins on it ("my groups' tasks"). Rows stay when the
    task closes: they record whom it was offered to, and the inbox filters on the task's state."""

    __tablename__ = "task_candidates"
    __table_args__ = (Index("ix_task_candidates_lookup", "kind", "name", "task_id"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # group | user
    name: Mapped[str] = mapped_column(String(200), primary_key=True)


class AuditEvent(Base):
    """Append-only audit trail; each event's hash covers its content and the previous hash of the case."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_audit_case_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    task_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CalendarDay(Base):
    """A day that differs from the weekend rule (holiday on a weekday, adjusted working weekend day),
    or a local override."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(50))
    version: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str | None] = mapped_column(Text)


class Counter(Base):
    """Named sequences (receipt numbers per prefix and day), incremented inside the caller's transaction."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
