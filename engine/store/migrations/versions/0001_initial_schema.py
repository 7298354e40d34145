"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "process_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("dialect", sa.String(length=20), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "version", name="uq_process_key_version"),
    )
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.create_index("ix_process_key_sha", ["key", "sha256"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("receipt_no", sa.String(length=64), nullable=False),
        sa.Column("process_version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("serializer_version", sa.String(length=20), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("next_timer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_element", sa.String(length=200), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        sa.Column("trail_seq", sa.Integer(), nullable=False),
        sa.Column("trail_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["process_version_id"],
            ["process_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_no"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_next_timer", ["next_timer_at"], unique=False)
        batch_op.create_index("ix_cases_process", ["process_version_id"], unique=False)
        batch_op.create_index("ix_cases_status", ["status"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("bpmn_id", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "seq", name="uq_audit_case_seq"),
    )
    op.create_table(
        "human_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("bpmn_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("lane", sa.String(length=200), nullable=True),
        sa.Column("candidate_groups", sa.JSON(), nullable=False),
        sa.Column("candidate_users", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("form_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_assignee", ["state", "assignee", "due_at"], unique=False)
        batch_op.create_index("ix_tasks_case", ["case_id", "state"], unique=False)
        batch_op.create_index("ix_tasks_state_due", ["state", "due_at"], unique=False)

    op.create_table(
        "task_candidates",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "kind", "name"),
    )
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.create_index("ix_task_candidates_lookup", ["kind", "name", "task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_task_candidates_lookup")

    op.drop_table("task_candidates")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_state_due")
        batch_op.drop_index("ix_tasks_case")
        batch_op.drop_index("ix_tasks_assignee")

    op.drop_table("human_tasks")
    op.drop_table("audit_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status")
        batch_op.drop_index("ix_cases_process")
        batch_op.drop_index("ix_cases_next_timer")

    op.drop_table("cases")
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_process_key_sha")

    op.drop_table("process_versions")
    op.drop_table("counters")
    op.drop_table("calendar_days")
