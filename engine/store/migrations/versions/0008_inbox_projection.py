"""inbox projection: the case facts and the sole candidate group on human_tasks, and the inbox's index

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = {
    "offered_to": sa.String(length=200),
    "item_code": sa.String(length=64),
    "item_name": sa.String(length=200),
    "department": sa.String(length=64),
    "applicant_name": sa.String(length=200),
    "search_text": sa.Text(),
}
FACTS = ("item_code", "item_name", "department", "applicant_name", "search_text")
OPEN_UNCLAIMED = "state = 'open' AND assignee IS NULL"
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch:
        for name, type_ in COLUMNS.items():
            batch.add_column(sa.Column(name, type_, nullable=True))
    _back_fill()
    # a group's unclaimed tasks in due order; PostgreSQL covers the inbox filters' columns for index-only scans
    op.create_index("ix_tasks_offered", "human_tasks", ["offered_to", "due_at", "created_at", "id"],
                    postgresql_where=sa.text(OPEN_UNCLAIMED), sqlite_where=sa.text(OPEN_UNCLAIMED),
                    postgresql_include=["bpmn_id", "item_code", "search_text"])  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        # Index-only scans need the visibility map up to date: vacuum after 1 % of the rows changed, not 20 %.
        op.execute("ALTER TABLE human_tasks SET (autovacuum_vacuum_scale_factor = 0.01)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE human_tasks RESET (autovacuum_vacuum_scale_factor)")
    op.drop_index("ix_tasks_offered", table_name="human_tasks")
    with op.batch_alter_table("human_tasks") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)


def _text(value, length: int):
    if value is None or value == "":
        return None
    return str(value)[:length]


def _back_fill() -> None:
    """The open tasks get what the engine writes when a task opens (engine.inbox_projection as of this revision);
    closed tasks keep NULLs: the inbox reads open tasks only."""
    bind = op.get_bind()
    tasks = sa.table("human_tasks", sa.column("id"), sa.column("case_id"), sa.column("state"),
                     *(sa.column(name) for name in COLUMNS))  # fmt: skip
    cases = sa.table("cases", sa.column("id"), sa.column("receipt_no"), sa.column("data", sa.JSON()))
    candidates = sa.table("task_candidates", sa.column("task_id"), sa.column("kind"), sa.column("name"))

    def offers(kind: str):
        return sa.select(candidates.c.name).where(candidates.c.task_id == tasks.c.id, candidates.c.kind == kind)

    # Offered to exactly one group and to nobody by name: that group.
    bind.execute(
        tasks.update()
        .where(tasks.c.state == "open",
               offers("group").with_only_columns(sa.func.count()).scalar_subquery() == 1,
               ~offers("user").exists())
        .values(offered_to=offers("group").with_only_columns(sa.func.min(candidates.c.name)).scalar_subquery())
    )  # fmt: skip
    data = cases.c.data
    facts = bind.execute(
        sa.select(tasks.c.id, cases.c.receipt_no, data["item_code"].as_string(), data["item_name"].as_string(),
                  data["department"].as_string(), data[("applicant", "name")].as_string())
        .join(cases, cases.c.id == tasks.c.case_id).where(tasks.c.state == "open")
    ).all()  # fmt: skip
    update = (
        tasks.update()
        .where(tasks.c.id == sa.bindparam("task_id"))
        .values({name: sa.bindparam(f"new_{name}") for name in FACTS})
    )
    rows = []
    for task_id, receipt_no, item_code, item_name, department, applicant in facts:
        item_name, applicant = _text(item_name, 200), _text(applicant, 200)
        search = "\n".join((f or "").replace("\n", " ").lower() for f in (receipt_no, item_name, applicant))[:400]
        values = (_text(item_code, 64), item_name, _text(department, 64), applicant, search)
        rows.append({"task_id": task_id, **{f"new_{name}": v for name, v in zip(FACTS, values, strict=True)}})
    for start in range(0, len(rows), BATCH):
        bind.execute(update, rows[start : start + BATCH])
