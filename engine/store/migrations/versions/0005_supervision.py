"""supervision: the supervision projection of cases, accountability records, actions on alerts

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_cases",
        sa.Column("case_id", sa.String(length=32), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("receipt_no", sa.String(length=64), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=True),
        sa.Column("item_name", sa.String(length=200), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("applicant_name", sa.String(length=200), nullable=True),
        sa.Column("officer", sa.String(length=100), nullable=True),
        sa.Column("stage", sa.String(length=200), nullable=True),
        sa.Column("active", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("statutory_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clock_stopped", sa.Boolean(), nullable=False),
        sa.Column("stopped_colour", sa.String(length=10), nullable=True),
        sa.Column("clock_stop_days", sa.Integer(), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.UniqueConstraint("receipt_no", name="uq_supervision_receipt"),
    )
    # Prefix searches (receipt number, applicant) use LIKE 'x%': PostgreSQL needs pattern ops for an index.
    pattern = {"postgresql_ops": {"applicant_name": "varchar_pattern_ops"}}
    op.create_index("ix_supervision_applicant", "supervision_cases", ["applicant_name"], **pattern)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_supervision_receipt_prefix", "supervision_cases", ["receipt_no"],
                        postgresql_ops={"receipt_no": "varchar_pattern_ops"})  # fmt: skip
    op.create_index("ix_supervision_dept_created", "supervision_cases", ["department", "created_at"])
    if op.get_bind().dialect.name != "postgresql":  # PostgreSQL gets the covering partial index below instead
        op.create_index("ix_supervision_open_due", "supervision_cases", ["is_open", "department", "due_at"])
    op.create_index("ix_supervision_created", "supervision_cases", ["created_at"])
    op.create_index("ix_supervision_item", "supervision_cases", ["item_code", "created_at"])
    op.create_index("ix_supervision_officer", "supervision_cases", ["officer", "created_at"])
    op.create_index("ix_supervision_completed", "supervision_cases", ["completed_at", "department"])
    if op.get_bind().dialect.name == "postgresql":
        # Index-only scans for the colour counts (open cases of a scope) and the statistics of a window.
        op.create_index("ix_supervision_open_cover", "supervision_cases", ["department"],
                        postgresql_where=sa.text("is_open"),
                        postgresql_include=["due_at", "warn_at", "statutory_due_at", "clock_stopped", "stopped_colour",
                                            "created_at", "status", "case_id"])  # fmt: skip
        op.create_index("ix_supervision_stats_cover", "supervision_cases", ["created_at"],
                        postgresql_include=["department", "item_code", "officer", "status", "on_time", "working_days",
                                            "clock_stop_days", "extensions"])  # fmt: skip

    op.create_table(
        "accountability_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target_kind", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("fault_kind", sa.String(length=40), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=True),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_accountability_dept", "accountability_records", ["department", "recorded_at"])

    op.create_table(
        "alert_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=True),
        sa.Column("reply_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acted_by", sa.String(length=100), nullable=False),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alert_actions_alert", "alert_actions", ["alert_id", "kind"])


def downgrade() -> None:
    op.drop_table("alert_actions")
    op.drop_table("accountability_records")
    op.drop_table("supervision_cases")
