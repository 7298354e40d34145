"""statistics roll-up: per day of receipt and department (and item and officer), with a histogram of working days

Revision ID: 0007
Revises: 0006
"""

import os
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEY = ("grain", "day", "department", "item_code", "officer")
COUNTS = ("received", "completed", "on_time", "timed", "working_days", "clock_stop_days", "extensions", "open_alerts")


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("grain", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("officer", sa.String(length=100), nullable=False),
    ]


def upgrade() -> None:
    daily = op.create_table(
        "statistics_daily",
        *_key_columns(),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint(*KEY),
    )
    spread = op.create_table(
        "statistics_daily_working_days",
        *_key_columns(),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, "working_days"),
    )
    _fill(daily, spread)


def _fill(daily: sa.Table, spread: sa.Table) -> None:
    """Roll up the cases already projected (as `statistics_rebuild.rebuild` does at this revision)."""
    bind = op.get_bind()
    cases = sa.table(
        "supervision_cases", sa.column("case_id"), sa.column("created_at", sa.DateTime(timezone=True)),
        *(sa.column(n) for n in ("department", "item_code", "officer", "status")), sa.column("on_time", sa.Boolean()),
        *(sa.column(n) for n in ("working_days", "clock_stop_days", "extensions")),
    )  # fmt: skip
    if bind.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one() == 0:
        return
    zone = ZoneInfo(os.environ.get("GOVFLOW_TZ", "Asia/Shanghai"))
    open_alerts = dict(bind.execute(sa.text(
        "SELECT a.case_id, count(*) FROM supervision_alerts a WHERE NOT EXISTS (SELECT 1 FROM alert_actions x"
        " WHERE x.alert_id = a.id AND x.kind = 'acknowledge') GROUP BY a.case_id")).all())  # fmt: skip
    totals: dict[tuple, list[int]] = {}
    cells: dict[tuple, int] = {}
    for case_id, created, department, item, officer, status, on_time, days, stops, extensions in bind.execute(
        sa.select(cases)
    ):
        if created.tzinfo is None:  # SQLite keeps the UTC wall time
            created = created.replace(tzinfo=UTC)
        day, department = created.astimezone(zone).date(), department or ""
        done = status == "completed"
        timed = done and days is not None
        counts = (1, done, done and on_time is True, timed, days if timed else 0, stops or 0, extensions or 0,
                  open_alerts.get(case_id, 0))  # fmt: skip
        for key in (("full", day, department, item or "", officer or ""), ("department", day, department, "", "")):
            row = totals.setdefault(key, [0] * len(COUNTS))
            for i, value in enumerate(counts):
                row[i] += int(value)
            if timed:
                cells[(*key, days)] = cells.get((*key, days), 0) + 1
    op.bulk_insert(daily, [dict(zip((*KEY, *COUNTS), (*k, *v), strict=True)) for k, v in totals.items()])
    op.bulk_insert(spread, [dict(zip((*KEY, "working_days", "cases"), (*k, n), strict=True)) for k, n in cells.items()])


def downgrade() -> None:
    op.drop_table("statistics_daily_working_days")
    op.drop_table("statistics_daily")
