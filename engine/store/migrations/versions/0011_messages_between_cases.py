"""messages between cases: event_subscriptions (who waits for which message or signal) and event_messages (the
outbox of what was sent, with what became of it)

Revision ID: 0011
Revises: 0010

Running cases get their subscriptions at their next step (or `govflow init`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("correlation_key", sa.String(200), nullable=True),
        sa.Column("element_id", sa.String(200), nullable=False),
    )
    op.create_index("ix_event_subscriptions_lookup", "event_subscriptions", ["kind", "name", "correlation_key"])
    op.create_index("ix_event_subscriptions_case", "event_subscriptions", ["case_id"])
    op.create_table(
        "event_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("correlation_key", sa.String(200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("sent_by", sa.String(100), nullable=False),
        sa.Column("source_case_id", sa.String(32), nullable=True),
        sa.Column("source_element", sa.String(200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_event_messages_status", "event_messages", ["status", "id"])


def downgrade() -> None:
    op.drop_table("event_messages")
    op.drop_table("event_subscriptions")
