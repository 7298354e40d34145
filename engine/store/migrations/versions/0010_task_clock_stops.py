"""task clock stops: when the clock a task is due by stopped, and the colour it had then, on human_tasks

Revision ID: 0010
Revises: 0009

Rows of tasks whose clock is stopped now get them at their case's next step (or `govflow init`); until then such
a row is coloured on its instants, as before this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OPEN_UNCLAIMED = "state = 'open' AND assignee IS NULL"
KEY = ["offered_to", "due_at", "created_at", "id", "warn_at", "statutory_due_at"]
COLUMNS = (("stopped_at", sa.DateTime(timezone=True)), ("stopped_colour", sa.String(16)))


def _offered_index(key: list[str]) -> None:
    # a group's unclaimed tasks in due order; PostgreSQL covers the inbox filters' columns for index-only scans
    op.create_index("ix_tasks_offered", "human_tasks", key,
                    postgresql_where=sa.text(OPEN_UNCLAIMED), sqlite_where=sa.text(OPEN_UNCLAIMED),
                    postgresql_include=["bpmn_id", "item_code", "search_text"])  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    # the colour counts read whether the clock stands still and its kept colour: the index keeps covering them
    op.drop_index("ix_tasks_offered", table_name="human_tasks")
    _offered_index([*KEY, *(name for name, _ in COLUMNS)])


def downgrade() -> None:
    op.drop_index("ix_tasks_offered", table_name="human_tasks")
    _offered_index(KEY)
    with op.batch_alter_table("human_tasks") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
