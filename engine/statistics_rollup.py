"""The daily roll-up behind the statistics (绩效统计): per local day of receipt, the counts and sums
engine/statistics.py reports (`statistics_daily`), and a histogram of the working days of the completed cases
(`statistics_daily_working_days`) so that the 90th percentile stays exact.

Each case counts at two grains: `full` (day × department × item × window officer: the item and officer figures)
and `department` (day × department: the department, month and quarter figures and the trend, a few rows a day).

The roll-up is told, in so many words, what changed: the one writer of a supervision row
(`supervision_index.refresh`) says what the row counted before and after (`row_written`), the one way to raise an
alert (`escalation.record`) says it raised one (`alert_raised`), and acknowledging an alert says so
(`alert_acknowledged`). Each note is the difference between a row's old and new contribution — nothing for most
steps, whose contribution does not change — held for the session's transaction. The case step's pipeline writes
the transaction's differences in its roll-up phase (`write`), the last before the commit; a writer outside the
pipeline calls `write` before its commit. They are added with UPSERTs, in key order, and the open alerts of the
rows concerned are recounted. No listener on a session, a connection, a model or SQLAlchemy's Engine drives it.
Adding differences (never totals read earlier) keeps concurrent transactions right on PostgreSQL; taking the roll-up
rows last, just before the commit and in one global order, keeps them from deadlocking (a batch of timers touches
many rows) and holds the row locks only for the commit.

`rebuild` (engine/statistics_rebuild.py) recomputes both tables from `supervision_cases`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engine.clock import LOCAL_TZ
from engine.open_alerts import open_alert_condition
from engine.store.supervision import DailyFigures, DailyWorkingDays, SupervisedCase
from engine.store.time_limits import SupervisionAlert

NONE = ""  # the key of "no department / item / officer" (and of item and officer at the department grain)
FULL, DEPARTMENT = "full", "department"  # the grains
KEY = ("grain", "day", "department", "item_code", "officer")
COUNTS = ("received", "completed", "on_time", "timed", "working_days", "clock_stop_days", "extensions", "open_alerts")
OPEN_ALERTS = COUNTS.index("open_alerts")
# The supervision columns a contribution is made of.
FIELDS = ("created_at", "department", "item_code", "officer", "status", "on_time", "working_days",
          "clock_stop_days", "extensions")  # fmt: skip
PENDING = "statistics_rollup"  # in a session's info: (its transaction, the Pending noted in it)

Key = tuple[str, date, str, str, str]


@dataclass(frozen=True)
class Contribution:
    """What one supervision row adds to the roll-up (at both grains)."""

    day: date
    department: str
    item_code: str
    officer: str
    completed: bool
    on_time: bool
    working_days: int | None  # of a completed case
    clock_stop_days: int
    extensions: int

    def rows(self) -> list[Key]:
        """Its roll-up rows, one per grain, in key order."""
        return [(DEPARTMENT, self.day, self.department, NONE, NONE),
                (FULL, self.day, self.department, self.item_code, self.officer)]  # fmt: skip

    def counts(self) -> tuple[int, ...]:
        """The row's share of COUNTS (its open alerts are counted apart)."""
        timed = self.working_days is not None
        return (1, int(self.completed), int(self.on_time), int(timed), self.working_days or 0, self.clock_stop_days,
                self.extensions, 0)  # fmt: skip


def contribution(get) -> Contribution:
    """The contribution of a supervision row whose columns `get(name)` gives."""
    done = get("status") == "completed"
    working_days = get("working_days") if done else None
    return Contribution(
        local_day(get("created_at")), get("department") or NONE, get("item_code") or NONE, get("officer") or NONE,
        done, done and get("on_time") is True, None if working_days is None else int(working_days),
        int(get("clock_stop_days") or 0), int(get("extensions") or 0),
    )  # fmt: skip


def local_day(instant) -> date:
    """The local calendar day of an instant (the day a case was received on)."""
    return instant.astimezone(LOCAL_TZ).date()


def keys_of(created, department, item, officer) -> list[Key]:
    """The roll-up rows of a supervision row with these columns."""
    return contribution({"created_at": created, "department": department, "item_code": item, "officer": officer,
                         "status": None}.get).rows()  # fmt: skip


@dataclass
class Pending:
    """What a transaction changed in the roll-up, written by `write` before its commit."""

    daily: dict[Key, list[int]] = field(default_factory=dict)  # differences of COUNTS per row
    spread: dict[tuple[Key, int], int] = field(default_factory=dict)  # differences per histogram cell
    recount: set[Key] = field(default_factory=set)  # rows whose open alerts to recount
    new_alerts: set[int] = field(default_factory=set)  # alerts raised: they count where open
    alert_cases: set[str] = field(default_factory=set)  # cases with an alert acknowledged or deleted: recount
    acknowledged: set[int] = field(default_factory=set)  # alerts acknowledged (their cases: recount)

    def add(self, sign: int, c: Contribution | None) -> None:
        if c is None:
            return
        counts = c.counts()
        for key in c.rows():
            row = self.daily.setdefault(key, [0] * len(COUNTS))
            for i, value in enumerate(counts):
                row[i] += sign * value
            if c.working_days is not None:
                cell = (key, c.working_days)
                self.spread[cell] = self.spread.get(cell, 0) + sign

    def __bool__(self) -> bool:
        return any((self.daily, self.spread, self.recount, self.new_alerts, self.alert_cases, self.acknowledged))

    def clear(self) -> None:
        self.__init__()


def pending(session) -> Pending:
    """The roll-up changes noted in the session's current transaction (a new transaction starts with none: what a
    rolled-back one noted went with it)."""
    transaction = session.get_transaction()
    held = session.info.get(PENDING)
    if held is None or held[0] is not transaction:
        held = session.info[PENDING] = (transaction, Pending())
    return held[1]


def counted(row: SupervisedCase | None) -> Contribution | None:
    """What a supervision row counts in the roll-up now (None for a row not written yet): taken by its writer
    before it changes the row, and handed to `row_written` after."""
    if row is None or row.created_at is None:
        return None
    return contribution(lambda name: getattr(row, name))


# --- the notes of the writers, in their transaction ------------------------------------------------------------


def row_written(session, before: Contribution | None, row: SupervisedCase | None) -> None:
    """A supervision row was written (`before`: what it counted, `counted(row)` taken before the change; None for
    a new row) or deleted (`row` None)."""
    after = counted(row)
    if before == after:
        return
    changes = pending(session)
    changes.add(-1, before)
    changes.add(1, after)
    # The case's open alerts move with it. (A new row starts with none: its case's alerts are raised after it, or
    # in the same transaction — counted at the write; a row written again for a case with older alerts counts them
    # after `statistics_rebuild.rebuild`, which `supervision_index.rebuild` runs.)
    if before is not None and (after is None or before.rows() != after.rows()):
        changes.recount.update(before.rows() + (after.rows() if after else []))


def alert_raised(session, alert: SupervisionAlert) -> None:
    """An alert was raised (flushed: it has its id); it counts on its case's rows while open."""
    pending(session).new_alerts.add(alert.id)


def alert_removed(session, case_id: str) -> None:
    """An alert of the case was deleted (a repair): its case's rows are recounted."""
    pending(session).alert_cases.add(case_id)


def alert_acknowledged(session, alert_id: int) -> None:
    """An acknowledgement closed the alert (or, removed, opened it again): its case's rows are recounted."""
    pending(session).acknowledged.add(alert_id)


def write(session) -> None:
    """Write what the session's transaction noted (the pipeline's roll-up phase; a writer outside the pipeline
    calls it before its commit). Its last writes: the roll-up rows are locked only until the commit."""
    changes = pending(session)
    if changes:
        session.flush()
        apply(session.connection(), changes)
        changes.clear()


def apply(connection, changes: Pending) -> None:
    """Write `changes`: the differences with UPSERTs, then the recounts of open alerts, every row in key order."""
    _resolve_alerts(connection, changes)
    statements = _statements(connection.dialect.name)
    rows = sorted(set(changes.daily) | changes.recount)
    zero = [0] * len(COUNTS)
    # The UPSERTs take the row locks, in key order; a row only recounted gets a zero difference for that.
    _upsert(connection, DailyFigures.__table__, [_daily_params(key, changes.daily.get(key, zero)) for key in rows])
    emptied = [_daily_params(key, zero) for key in rows if key not in changes.daily or changes.daily[key][0] < 0]
    if emptied:
        connection.execute(statements.prune_daily, emptied)
    for key in sorted(changes.recount):
        _recount_open_alerts(connection, key)
    cells = sorted(changes.spread.items())
    _upsert(connection, DailyWorkingDays.__table__, [_cell_params(cell, n) for cell, n in cells])
    if any(n < 0 for _cell, n in cells):
        connection.execute(statements.prune_spread, [_cell_params(cell, n) for cell, n in cells if n < 0])


def _upsert(connection, table, rows: list[dict]) -> None:
    """Add `rows` (key columns and differences) to `table`, in their order (an executemany of one UPSERT)."""
    if rows:
        connection.execute(_upsert_statement(connection.dialect.name, table.name), rows)


@cache
def _upsert_statement(dialect: str, table_name: str):
    """INSERT ... ON CONFLICT (key) DO UPDATE SET count = count + excluded.count, on PostgreSQL and SQLite alike
    (one row: a multi-row VALUES would be compiled again at every execution)."""
    table = DailyFigures.__table__ if table_name == DailyFigures.__tablename__ else DailyWorkingDays.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = [column.name for column in table.primary_key]
    statement = insert(table)
    added = {column.name: column + statement.excluded[column.name] for column in table.c if column.name not in key}
    return statement.on_conflict_do_update(index_elements=key, set_=added)


def _resolve_alerts(connection, changes: Pending) -> None:
    """Turn the alerts of the transaction into roll-up changes: each alert raised now adds one to its case's rows
    while open; cases with an alert acknowledged or deleted are recounted. The rows are the supervision rows as the
    transaction leaves them."""
    queries = _alert_statements()
    if changes.new_alerts:
        params = {"alerts": sorted(changes.new_alerts)}
        for created, department, item, officer in connection.execute(queries.raised, params):
            for key in keys_of(created, department, item, officer):
                changes.daily.setdefault(key, [0] * len(COUNTS))[OPEN_ALERTS] += 1
    if changes.alert_cases or changes.acknowledged:
        params = {"alerts": sorted(changes.acknowledged), "cases": sorted(changes.alert_cases)}
        for created, department, item, officer in connection.execute(queries.cases_of, params):
            changes.recount.update(keys_of(created, department, item, officer))


def _daily_params(key: Key, counts) -> dict:
    return {**dict(zip(KEY, key, strict=True)), **dict(zip(COUNTS, counts, strict=True))}


def _cell_params(cell: tuple[Key, int], cases: int) -> dict:
    return {**dict(zip(KEY, cell[0], strict=True)), "working_days": cell[1], "cases": cases}


def _recount_open_alerts(connection, key: Key) -> None:
    """Set the open alerts of a roll-up row (already locked by this transaction) to the count the database has now:
    a statement after the lock, so that on PostgreSQL it sees what a concurrent writer committed meanwhile."""
    grain, day, *values = key
    params = {f"key_{name}": value for name, value in zip(KEY, key, strict=True)}
    params["lo"] = datetime.combine(day, time.min, LOCAL_TZ)
    params["hi"] = datetime.combine(day + timedelta(days=1), time.min, LOCAL_TZ)
    columns = ("department", "item_code", "officer")[: 1 if grain == DEPARTMENT else 3]
    params.update({f"case_{name}": value for name, value in zip(columns, values, strict=False) if value})
    connection.execute(_recount(grain, tuple(not value for value in values[: len(columns)])), params)


@dataclass(frozen=True)
class _AlertQueries:
    raised: object  # (created_at, department, item_code, officer) of the case of each open alert of :alerts
    cases_of: object  # the same columns of the supervision rows of :cases and of the cases of alerts :alerts


@cache
def _alert_statements() -> _AlertQueries:
    """The alert queries, built once."""

    t, a = SupervisedCase.__table__, SupervisionAlert
    columns = (t.c.created_at, t.c.department, t.c.item_code, t.c.officer)
    alerts, cases = bindparam("alerts", expanding=True), bindparam("cases", expanding=True)
    raised = (
        select(*columns)
        .select_from(t.join(a, a.case_id == t.c.case_id))
        .where(a.id.in_(alerts), open_alert_condition())
    )
    of_alerts = select(a.case_id).where(a.id.in_(alerts))
    return _AlertQueries(raised, select(*columns).where(or_(t.c.case_id.in_(cases), t.c.case_id.in_(of_alerts))))


@cache
def _recount(grain: str, absent: tuple[bool, ...]):
    """The UPDATE that recounts the open alerts of one roll-up row, for a grain and which of its department (item,
    officer) are '' (standing for NULL or '')."""
    d, t = DailyFigures.__table__, SupervisedCase.__table__
    cond = [t.c.created_at >= bindparam("lo"), t.c.created_at < bindparam("hi"), open_alert_condition()]
    for name, none in zip(("department", "item_code", "officer"), absent, strict=False):
        column = t.c[name]
        cond.append(or_(column.is_(None), column == NONE) if none else column == bindparam(f"case_{name}"))
    count = (
        select(func.count())
        .select_from(t.join(SupervisionAlert, SupervisionAlert.case_id == t.c.case_id))
        .where(*cond)
        .scalar_subquery()
    )
    same_key = [d.c[name] == bindparam(f"key_{name}") for name in KEY]
    return update(d).where(*same_key).values(open_alerts=count)


@dataclass(frozen=True)
class _Statements:
    prune_daily: object
    prune_spread: object


@cache
def _statements(dialect: str) -> _Statements:
    """The DELETEs of rows whose cases all moved away, built once."""
    d, h = DailyFigures.__table__, DailyWorkingDays.__table__
    same_key = [d.c[k] == bindparam(k) for k in KEY]
    same_cell = [h.c[k] == bindparam(k) for k in (*KEY, "working_days")]
    return _Statements(delete(d).where(*same_key, d.c.received <= 0), delete(h).where(*same_cell, h.c.cases <= 0))
