"""Rebuild the statistics roll-up (engine/statistics_rollup.py) from the supervision projection and the open alerts:
after rows were written around the ORM (a bulk load, a restore) or with the projection itself
(`supervision_index.rebuild`). PostgreSQL groups in SQL, with its own time-zone rules for the local day; SQLite
sums in Python the same contributions the roll-up follows.
"""

from __future__ import annotations

from sqlalchemy import Date, and_, cast, func, literal, select

from engine.clock import LOCAL_TZ
from engine.open_alerts import open_alert_condition
from engine.statistics_rollup import COUNTS, DEPARTMENT, FIELDS, FULL, KEY, NONE, OPEN_ALERTS, Pending, contribution
from engine.statistics_rollup import pending as pending_changes
from engine.store.supervision import DailyFigures, DailyWorkingDays, SupervisedCase
from engine.store.time_limits import SupervisionAlert


def rebuild(session) -> int:
    """Recompute the roll-up in the caller's transaction (a Session or a Connection). Returns the number of
    `statistics_daily` rows."""
    if hasattr(session, "flush"):
        session.flush()  # the pending supervision rows first, then forget the differences noted for them
        pending_changes(session).clear()
    connection = session.connection() if hasattr(session, "flush") else session
    d, h = DailyFigures.__table__, DailyWorkingDays.__table__
    session.execute(h.delete())
    session.execute(d.delete())
    if connection.dialect.name == "postgresql":
        for grain in (DEPARTMENT, FULL):
            _rebuild_in_sql(session, grain)
    else:
        _rebuild_in_python(session)
    return session.execute(select(func.count()).select_from(d)).scalar_one()


def _open_alerts_per_case():
    """(case_id, n) of every case with open alerts, as a subquery."""
    a = SupervisionAlert
    query = select(a.case_id.label("case_id"), func.count().label("n")).where(open_alert_condition())
    return query.group_by(a.case_id).subquery()


def _rebuild_in_sql(session, grain: str) -> None:
    """PostgreSQL: INSERT ... SELECT ... GROUP BY per table, the local day by the database's time-zone rules."""
    t = SupervisedCase.__table__
    d, h = DailyFigures.__table__, DailyWorkingDays.__table__
    done = t.c.status == "completed"
    day, department = cast(func.timezone(str(LOCAL_TZ), t.c.created_at), Date), func.coalesce(t.c.department, NONE)
    grouped = [day, department]
    if grain == FULL:
        finer = [func.coalesce(t.c.item_code, NONE), func.coalesce(t.c.officer, NONE)]
        grouped += finer
    else:
        finer = [literal(NONE), literal(NONE)]
    key = [literal(grain), day, department, *finer]
    timed = and_(done, t.c.working_days.is_not(None))
    alerts = _open_alerts_per_case()
    daily = select(
        *key, func.count(), func.count().filter(done), func.count().filter(and_(done, t.c.on_time.is_(True))),
        func.count().filter(timed), func.coalesce(func.sum(t.c.working_days).filter(done), 0),
        func.coalesce(func.sum(t.c.clock_stop_days), 0), func.coalesce(func.sum(t.c.extensions), 0),
        func.coalesce(func.sum(alerts.c.n), 0) if alerts is not None else literal(0),
    ).select_from(t if alerts is None else t.outerjoin(alerts, alerts.c.case_id == t.c.case_id))  # fmt: skip
    # In key order, so that the rows of a day lie together (a window reads few pages), as incremental inserts do.
    session.execute(d.insert().from_select([*KEY, *COUNTS], daily.group_by(*grouped).order_by(*grouped)))
    spread = select(*key, t.c.working_days, func.count()).where(timed).group_by(*grouped, t.c.working_days)
    cells = spread.order_by(*grouped, t.c.working_days)
    session.execute(h.insert().from_select([*KEY, "working_days", "cases"], cells))


def _rebuild_in_python(session, batch: int = 5000) -> None:
    """SQLite: the contributions `statistics_rollup.follow` notes, summed here (SQLite has no time-zone rules)."""
    t = SupervisedCase.__table__
    alerts = _open_alerts_per_case()
    open_alerts = dict(session.execute(select(alerts.c.case_id, alerts.c.n)).all()) if alerts is not None else {}
    totals = Pending()
    for row in session.execute(select(t.c.case_id, *(t.c[name] for name in FIELDS))):
        c = contribution(row._mapping.__getitem__)
        totals.add(1, c)
        for key in c.rows():
            totals.daily[key][OPEN_ALERTS] += open_alerts.get(row.case_id, 0)
    # In key order, as in SQL.
    records = [dict(zip((*KEY, *COUNTS), (*k, *v), strict=True)) for k, v in sorted(totals.daily.items())]
    cells = [dict(zip((*KEY, "working_days", "cases"), (*k, w, n), strict=True))
             for (k, w), n in sorted(totals.spread.items())]  # fmt: skip
    for table, values in ((DailyFigures.__table__, records), (DailyWorkingDays.__table__, cells)):
        for i in range(0, len(values), batch):
            session.execute(table.insert(), values[i : i + batch])
