"""task clock instants: the warning and statutory due instants of the clock a task is due by, on human_tasks

Revision ID: 0009
Revises: 0008

The open rows get them from the engine at their case's next step (the tasks phase writes the instants of the clock
each open task is due by); until then a row is coloured on its due instant alone, as before this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = ("warn_at", "statutory_due_at")
OPEN_UNCLAIMED = "state = 'open' AND assignee IS NULL"
KEY = ["offered_to", "due_at", "created_at", "id"]


def _offered_index(key: list[str]) -> None:
    # a group's unclaimed tasks in due order; PostgreSQL covers the inbox filters' columns for index-only scans
    op.create_index("ix_tasks_offered", "human_tasks", key,
                    postgresql_where=sa.text(OPEN_UNCLAIMED), sqlite_where=sa.text(OPEN_UNCLAIMED),
                    postgresql_include=["bpmn_id", "item_code", "search_text"])  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    # the colour counts read the clock's three instants: the index keeps covering them
    op.drop_index("ix_tasks_offered", table_name="human_tasks")
    _offered_index([*KEY, *COLUMNS])


def downgrade() -> None:
    op.drop_index("ix_tasks_offered", table_name="human_tasks")
    _offered_index(KEY)
    with op.batch_alter_table("human_tasks") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
