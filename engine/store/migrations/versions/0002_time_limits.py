"""time limits: stage clocks, clock stops, supervision alerts and letters, notification outbox

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stage_clocks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.String(length=32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("element", sa.String(length=200), nullable=True),
        sa.Column("statutory", sa.String(length=20), nullable=True),
        sa.Column("promised", sa.String(length=20), nullable=True),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("extension", sa.String(length=20), nullable=True),
        sa.Column("extension_basis", sa.Text(), nullable=True),
        sa.Column("extension_approved_by", sa.String(length=100), nullable=True),
        sa.Column("extended_at", _TS, nullable=True),
    )
    op.create_index("ix_stage_clocks_case", "stage_clocks", ["case_id", "stage"])
    op.create_index("ix_stage_clocks_open", "stage_clocks", ["ended_at", "case_id"])

    op.create_table(
        "clock_stops",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.String(length=32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("element", sa.String(length=200), nullable=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
    )
    op.create_index("ix_clock_stops_case", "clock_stops", ["case_id", "ended_at"])

    op.create_table(
        "supervision_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.String(length=32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("receipt_no", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("clock_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("officers", sa.JSON(), nullable=False),
        sa.Column("due_at", _TS, nullable=True),
        sa.Column("raised_at", _TS, nullable=False),
        sa.Column("element", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_alerts_raised", "supervision_alerts", ["raised_at"])
    op.create_index("ix_alerts_case", "supervision_alerts", ["case_id", "stage", "kind"])
    op.create_index("ix_alerts_department", "supervision_alerts", ["department", "raised_at"])

    op.create_table(
        "supervision_letters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("letter_no", sa.String(length=40), nullable=False, unique=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("supervision_alerts.id"), nullable=False),
        sa.Column("case_id", sa.String(length=32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("addressed_to", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("answered_at", _TS, nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
    )
    op.create_index("ix_letters_addressee", "supervision_letters", ["addressed_to", "issued_at"])

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("read_at", _TS, nullable=True),
    )
    op.create_index("ix_notifications_pending", "notifications", ["state", "next_attempt_at"])
    op.create_index("ix_notifications_inbox", "notifications", ["channel", "recipient", "read_at"])


def downgrade() -> None:
    for table in ("notifications", "supervision_letters", "supervision_alerts", "clock_stops", "stage_clocks"):
        op.drop_table(table)
