"""Tables of electronic supervision (电子监察): the supervision projection of cases and accountability records.

`supervision_cases` holds one row per case with the fields supervisors filter, sort and count on, copied out of
the case's JSON data and its deadlines at every step, so that a case list over a million cases is an indexed
query instead of a scan of JSON. `accountability_records` are the 过错责任追究 decisions against an officer or a
window. `statistics_daily` and `statistics_daily_working_days` roll the projection up per day of receipt for the
statistics page; engine/statistics_rollup.py keeps them in step with the projection and the alerts (the store
knows nothing of it: the engine's configuration attaches it to the database).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class SupervisedCase(Base):
    """The supervision projection of one case, refreshed by every step of the case."""

    __tablename__ = "supervision_cases"
    __table_args__ = (
        # The case list: scope by department, newest first; the colour counts: open cases of a scope by due time.
        Index("ix_supervision_dept_created", "department", "created_at"),
        Index("ix_supervision_open_due", "is_open", "department", "due_at").ddl_if(
            callable_=lambda ddl, target, bind, dialect=None, **kw: dialect is None or dialect.name != "postgresql"
        ),
        # PostgreSQL: index-only scans for the colour counts (open cases of a scope) and the statistics of a
        # window, and pattern ops so that receipt-number prefix searches use an index.
        Index(
            "ix_supervision_open_cover",
            "department",
            postgresql_where=text("is_open"),
            postgresql_include=[
                "due_at",
                "warn_at",
                "statutory_due_at",
                "clock_stopped",
                "stopped_colour",
                "created_at",
                "status",
                "case_id",
            ],
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_supervision_stats_cover",
            "created_at",
            postgresql_include=[
                "department",
                "item_code",
                "officer",
                "status",
                "on_time",
                "working_days",
                "clock_stop_days",
                "extensions",
            ],
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_supervision_receipt_prefix", "receipt_no", postgresql_ops={"receipt_no": "varchar_pattern_ops"}
        ).ddl_if(dialect="postgresql"),
        Index("ix_supervision_created", "created_at"),
        Index("ix_supervision_item", "item_code", "created_at"),
        Index("ix_supervision_applicant", "applicant_name"),
        Index("ix_supervision_officer", "officer", "created_at"),
        # Statistics: cases completed in a window, per department.
        Index("ix_supervision_completed", "completed_at", "department"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(64), unique=True)
    process_key: Mapped[str] = mapped_column(String(200))
    # The columns the statistics roll-up counts keep their old value at a change (active_history), so that the
    # roll-up can take the old contribution off even when the row was expired before the change.
    item_code: Mapped[str | None] = mapped_column(String(64), active_history=True)
    item_name: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(64), active_history=True)
    applicant_name: Mapped[str | None] = mapped_column(String(200))
    # The window officer who received the application (who started the case).
    officer: Mapped[str | None] = mapped_column(String(100), active_history=True)
    # Where the case stands: the stage code of its active activities (else their BPMN ids), comma-separated.
    stage: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), active_history=True)
    is_open: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(active_history=True)
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # The case's deadlines as of its last step: when yellow starts, the promised and the statutory due instants.
    warn_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    statutory_due_at: Mapped[datetime | None]
    # While every clock is stopped the colour is frozen at the colour it had when the clock stopped.
    clock_stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped_colour: Mapped[str | None] = mapped_column(String(10))
    clock_stop_days: Mapped[int] = mapped_column(Integer, default=0, active_history=True)
    extensions: Mapped[int] = mapped_column(Integer, default=0, active_history=True)
    # Set on completion: working days from receipt to completion less stopped days, and whether within the limit.
    working_days: Mapped[int | None] = mapped_column(Integer, active_history=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, active_history=True)


class _DailyKey:
    """The key of a roll-up row: the grain, the local day of receipt and the department, item and window officer."""

    grain: Mapped[str] = mapped_column(String(10), primary_key=True, sort_order=-1)
    day: Mapped[date] = mapped_column(Date, primary_key=True, sort_order=-1)
    department: Mapped[str] = mapped_column(String(64), primary_key=True, sort_order=-1)
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True, sort_order=-1)
    officer: Mapped[str] = mapped_column(String(100), primary_key=True, sort_order=-1)


class DailyFigures(_DailyKey, Base):
    """The statistics roll-up: the supervision rows received on one local day, counted and summed as the statistics
    report them, at two grains: `full` (per department, item and window officer) and `department` (item and officer
    ''). '' also stands for a case without a department, item or officer (key columns cannot be NULL). A row whose
    cases all moved away is deleted."""

    __tablename__ = "statistics_daily"

    received: Mapped[int] = mapped_column(Integer)
    completed: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)  # completed within the promised limit
    timed: Mapped[int] = mapped_column(Integer)  # completed with their working days known
    working_days: Mapped[int] = mapped_column(Integer)  # the sum of those working days
    clock_stop_days: Mapped[int] = mapped_column(Integer)
    extensions: Mapped[int] = mapped_column(Integer)
    open_alerts: Mapped[int] = mapped_column(Integer)  # alerts of these cases not acknowledged


class DailyWorkingDays(_DailyKey, Base):
    """The histogram beside `statistics_daily`: how many completed cases of its row took so many working days
    (keeps the 90th percentile exact). A count that falls to 0 is deleted."""

    __tablename__ = "statistics_daily_working_days"

    working_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)


class AccountabilityRecord(Base):
    """A fault record (过错责任追究) against an officer or a window, with the fault kind and who decided it."""

    __tablename__ = "accountability_records"
    __table_args__ = (Index("ix_accountability_dept", "department", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(10))  # officer | window
    target: Mapped[str] = mapped_column(String(100))  # a user name or a department code
    department: Mapped[str] = mapped_column(String(64))
    fault_kind: Mapped[str] = mapped_column(String(40))
    measure: Mapped[str | None] = mapped_column(String(40))
    case_id: Mapped[str | None] = mapped_column(String(32))
    alert_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime]


class AlertAction(Base):
    """What supervisors did about an alert: `acknowledge` (with a note; the alert is then no longer open) or
    `letter` (a supervision letter 督办函 issued to a department, with the date its reply is due)."""

    __tablename__ = "alert_actions"
    __table_args__ = (Index("ix_alert_actions_alert", "alert_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # acknowledge | letter
    note: Mapped[str] = mapped_column(Text)
    letter_id: Mapped[int | None] = mapped_column(Integer)
    reply_due_at: Mapped[datetime | None]
    acted_by: Mapped[str] = mapped_column(String(100))
    acted_at: Mapped[datetime]
