"""The statistics roll-up (engine/statistics_rollup.py) gives the figures a direct computation over the supervision
projection gives, follows every transition of a case, and equals its own rebuild (and the migration's fill).

A write made here by hand tells the roll-up what it changed, as every writer does (`_edit`, `_raise`): the roll-up
is told explicitly, never by a listener."""

from __future__ import annotations

import math
import threading
import time
from datetime import date, datetime, timedelta

import pytest
import supervision_world as world
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy import inspect as inspect_mapper

from engine import alerts_board, statistics, statistics_rebuild, statistics_rollup, supervision, supervision_index
from engine.alerts_board import open_alert_condition
from engine.clock import LOCAL_TZ
from engine.services.casework import mark_error
from engine.store import ClockStop, StageClock, SupervisionAlert, upgrade
from engine.store.migrate import alembic_config
from engine.store.supervision import AlertAction, DailyFigures, DailyWorkingDays, SupervisedCase
from engine.workflow import ScriptFailure

WINDOWS = [(date(2026, 9, 1), date(2026, 9, 30)), (date(2026, 9, 24), date(2026, 10, 1)),
           (date(2026, 7, 1), date(2026, 12, 31)), (date(2026, 9, 30), date(2026, 9, 30))]  # fmt: skip


def at(month, day, hour=9, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


def _case(engine, clock, department, officer, received, *, item="SCJG-XK-001", promised=None, stop=None):
    clock.set(received)
    case = world.start(engine, department, officer=officer, item=item)
    if promised:
        with engine.db.session() as session, session.begin():
            session.add(StageClock(case_id=case.id, stage="case", statutory="20wd", promised=promised,
                                   basis="行政许可法第42条", started_at=received))  # fmt: skip
            if stop:
                session.add(ClockStop(case_id=case.id, reason="testing", basis="行政许可法第45条", started_at=stop[0],
                                      ended_at=stop[1], started_by=officer))  # fmt: skip
    return case


def _finish(engine, clock, case, actor, completed, *, decision="approve"):
    """Walk the case to its end at `completed` (approved with a certificate, or denied)."""
    clock.set(clock.now() + timedelta(minutes=10))
    world.complete(engine, case.id, "accept", actor, {"outcome": "accept"})
    world.complete(engine, case.id, "review", actor)
    if decision == "approve":
        world.complete(engine, case.id, "decide", actor, {"decision": "approve"})
        clock.set(completed)
        world.complete(engine, case.id, "certificate", actor)
    else:
        clock.set(completed)
        world.complete(engine, case.id, "decide", actor, {"decision": "deny"})


@pytest.fixture
def walked(engine, clock):
    """Cases over September and October 2026 (Mid-Autumn 9-25, National Day 10-01..07, Saturday 10-10 worked):
    several departments, items and officers, completed after 1 to 9 working days, denied, terminated, open, one
    received at 23:30 and one at 00:30 local time around the end of September, one without an item."""
    world.build(engine)
    received = [at(9, 1), at(9, 2, 14), at(9, 7), at(9, 10, 16), at(9, 15), at(9, 22), at(9, 24, 11), at(9, 28),
                at(9, 29), at(9, 30, 23, 30), at(10, 1, 0, 30), at(10, 8)]  # fmt: skip
    cases = []
    for i, when in enumerate(received):
        department, officer, actor = (("town-a", "clerk.a", "clerk.a"), ("town-a-v1", "clerk.a2", "clerk.a"),
                                      ("town-b", "clerk.b", "clerk.b"))[i % 3]  # fmt: skip
        item = None if i == 4 else ("SCJG-XK-001", "SCJG-XK-002")[i % 2]
        stop = (when + timedelta(days=1), when + timedelta(days=3)) if i == 2 else None
        case = _case(engine, clock, department, officer, when, item=item, promised=f"{3 + i % 4}wd", stop=stop)
        cases.append(case)
        if i == 7:
            clock.set(when + timedelta(hours=2))
            engine.runtime.terminate(case.id, actor="sup.county", reason="申请人撤回")
        elif i not in (3, 11):  # those two are left open
            _finish(engine, clock, case, actor, when + timedelta(days=1 + 2 * (i % 5), hours=3),
                    decision="deny" if i == 8 else "approve")  # fmt: skip
    for case in cases[2:6]:
        _raise(engine, case, department=engine.runtime.describe(case.id)["data"]["department"], when=at(10, 12))
    clock.set(at(10, 13))
    first = alerts_board.list_alerts(engine, _scope(engine, "sup.county"))[0]
    alerts_board.acknowledge(engine, world.user(engine, "sup.county"), first["id"], "已核实")
    return engine, cases


def _scope(engine, username):
    return supervision.scope_of(engine, world.user(engine, username))


def _direct(engine, scope, by, start, end) -> dict[str, tuple]:
    """The figures computed straight from the supervision rows, by their definition in engine/statistics.py."""
    with engine.db.session() as session:
        rows = session.scalars(select(SupervisedCase)).all()
        alerted = list(session.scalars(select(SupervisionAlert.case_id).where(open_alert_condition())))
    groups: dict[str, list] = {}
    for r in rows:
        day = r.created_at.astimezone(LOCAL_TZ).date()
        if not start <= day <= end or not scope.allows(r.department):
            continue
        month = day.strftime("%Y-%m")
        name = {"department": r.department, "item": r.item_code, "officer": r.officer, "month": month,
                "quarter": f"{day.year}-Q{(day.month - 1) // 3 + 1}"}[by] or "-"  # fmt: skip
        groups.setdefault(name, []).append(r)
    result = {}
    for name, group in groups.items():
        done = [r for r in group if r.status == "completed"]
        days = sorted(r.working_days for r in done if r.working_days is not None)
        on_time = sum(r.on_time is True for r in done)
        result[name] = (
            len(group), len(done), on_time, round(len(done) / len(group), 4),
            round(on_time / len(done), 4) if done else None, round(sum(days) / len(days), 2) if days else None,
            days[math.ceil(0.9 * len(days)) - 1] if days else None, sum(alerted.count(r.case_id) for r in group),
            sum(r.clock_stop_days for r in group), sum(r.extensions for r in group),
        )  # fmt: skip
    return result


def _reported(engine, scope, by, start, end) -> dict[str, tuple]:
    return {f.key: (f.received, f.completed, f.on_time, f.completion_rate, f.on_time_rate, f.avg_working_days,
                    f.p90_working_days, f.open_alerts, f.clock_stop_days, f.extensions)
            for f in statistics.figures(engine, scope, by, start, end)}  # fmt: skip


def _tables(session) -> tuple[list, list]:
    return (sorted(tuple(r) for r in session.execute(select(*DailyFigures.__table__.c))),
            sorted(tuple(r) for r in session.execute(select(*DailyWorkingDays.__table__.c))))  # fmt: skip


def _assert_rebuild_changes_nothing(engine) -> tuple[list, list]:
    with engine.db.session() as session, session.begin():
        kept = _tables(session)
        statistics_rebuild.rebuild(session)
        assert _tables(session) == kept
        session.rollback()
    return kept


@pytest.mark.parametrize("viewer", ["sup.county", "sup.a"])
def test_every_grouping_and_window_equals_the_direct_computation(walked, viewer):
    engine, _cases = walked
    scope = _scope(engine, viewer)
    for start, end in WINDOWS:
        for by in statistics.GROUPINGS:
            assert _reported(engine, scope, by, start, end) == _direct(engine, scope, by, start, end), (by, start)
    september = _reported(engine, scope, "month", *WINDOWS[0])
    assert september["2026-09"][0] == (10 if viewer == "sup.county" else 7)  # 23:30 on 9-30 counts; 00:30 not
    departments = set(_reported(engine, scope, "department", *WINDOWS[2]))
    assert departments == ({"town-a", "town-a-v1", "town-b"} if viewer == "sup.county" else {"town-a", "town-a-v1"})


def test_the_seeded_figures_are_not_trivial(walked):
    engine, _cases = walked
    rows = _reported(engine, _scope(engine, "sup.county"), "department", *WINDOWS[2])
    total = [sum(r[i] for r in rows.values()) for i in range(10)]
    assert (total[0], total[1]) == (12, 9)  # received, completed
    assert total[7] >= 3  # open alerts: the engine's own, and three of the four added here
    stops = total[8]
    assert stops > 0
    assert len({r[6] for r in rows.values()}) > 1  # different 90th percentiles
    assert "-" in _reported(engine, _scope(engine, "sup.county"), "item", *WINDOWS[2])


def test_rebuild_and_the_migration_fill_equal_the_incremental_roll_up(walked):
    engine, _cases = walked
    kept = _assert_rebuild_changes_nothing(engine)
    assert kept[0] and kept[1]
    with engine.db.session() as session, session.begin():  # lost, e.g. rows written around the ORM
        session.execute(DailyWorkingDays.__table__.delete())
        session.execute(DailyFigures.__table__.update().values(received=DailyFigures.received + 1))
    supervision_index.rebuild(engine)
    with engine.db.session() as session:
        assert _tables(session) == kept
    config = alembic_config(engine.db)
    command.downgrade(config, "0006")
    upgrade(engine.db)  # 0007 fills the roll-up from the projection
    with engine.db.session() as session:
        assert _tables(session) == kept


def test_completion_termination_retry_and_a_reopened_row_keep_it_right(engine, clock):
    world.build(engine)
    scope = _scope(engine, "sup.county")
    september = (date(2026, 9, 1), date(2026, 9, 30))

    def figures():
        return _reported(engine, scope, "department", *september)

    a = _case(engine, clock, "town-a", "clerk.a", at(9, 14), promised="5wd")
    b = _case(engine, clock, "town-a", "clerk.a", at(9, 14, 10))
    assert figures()["town-a"][:3] == (2, 0, 0)
    _finish(engine, clock, a, "clerk.a", at(9, 16, 11))
    assert figures()["town-a"][:3] + figures()["town-a"][5:7] == (2, 1, 1, 2.0, 2)  # 9-15, 9-16
    clock.set(at(9, 16, 12))
    engine.runtime.terminate(b.id, actor="sup.county", reason="申请人撤回")
    assert figures()["town-a"][:2] == (2, 1)
    c = _case(engine, clock, "town-a", "clerk.a", at(9, 15))
    mark_error(engine, c.id, "system", ScriptFailure("accept", "boom"))
    clock.set(at(9, 15, 10))
    engine.runtime.retry(c.id, actor="sup.county")
    assert figures()["town-a"][:2] == (3, 1)
    _finish(engine, clock, c, "clerk.a", at(9, 22, 10))
    assert figures()["town-a"][:2] == (3, 2)
    assert figures() == _direct(engine, scope, "department", *september)
    _assert_rebuild_changes_nothing(engine)

    # A row written by other means (telling the roll-up): reopened (no longer completed), moved to another
    # department and another day, then deleted.
    _edit(engine, a, status="running", is_open=True, working_days=None, on_time=None)
    assert figures()["town-a"][:3] == (3, 1, 1)  # c: no limit, so on time
    _edit(engine, c, department="town-b", created_at=at(9, 20))
    assert figures()["town-a"][:2] == (2, 0) and figures()["town-b"][:2] == (1, 1)
    assert figures() == _direct(engine, scope, "department", *september)
    _assert_rebuild_changes_nothing(engine)
    with engine.db.write_session() as session, session.begin():
        row = session.get(SupervisedCase, c.id)
        before = statistics_rollup.counted(row)
        session.delete(row)
        statistics_rollup.row_written(session, before, None)
        statistics_rollup.write(session)
    assert "town-b" not in figures()
    with engine.db.session() as session:
        assert not session.scalars(select(DailyFigures).where(DailyFigures.department == "town-b")).all()
        assert not session.scalars(select(DailyWorkingDays).where(DailyWorkingDays.department == "town-b")).all()
    _assert_rebuild_changes_nothing(engine)

    # An alert raised while the case has no supervision row counts once the projection is rebuilt.
    alerts = figures()["town-a"][7]  # raised by the engine on a or b
    _raise(engine, c)
    assert figures()["town-a"][7] == alerts
    supervision_index.rebuild(engine)
    # c is back with its alerts (and a completed again: the rebuild follows the cases)
    assert figures()["town-a"][:2] == (3, 2) and figures()["town-a"][7] > alerts
    assert figures() == _direct(engine, scope, "department", *september)
    _assert_rebuild_changes_nothing(engine)


def test_a_rolled_back_transaction_takes_its_notes_along(engine, clock):
    world.build(engine)
    x = _case(engine, clock, "town-a", "clerk.a", at(9, 14))
    y = _case(engine, clock, "town-a", "clerk.a", at(9, 14, 10))
    with engine.db.write_session() as session:
        with session.begin():
            _edit_in(session, x, department="town-b")
            session.rollback()  # what it noted goes with it
        with session.begin():  # the same session, a new transaction: only its own notes are written
            _edit_in(session, y, extensions=3)
            statistics_rollup.write(session)
    rows = _reported(engine, _scope(engine, "sup.county"), "department", date(2026, 9, 14), date(2026, 9, 14))
    assert set(rows) == {"town-a"} and rows["town-a"][9] == 3
    _assert_rebuild_changes_nothing(engine)


def test_no_listener_drives_the_figures(engine):
    """The roll-up is told by its writers and written by the pipeline's roll-up phase: nothing above the store is
    registered on the sessions, the connections, the models or SQLAlchemy's Engine class (issue 11). (The store's
    own transaction mechanics — SQLite's BEGIN — are no business figure.)"""

    def ours(collection) -> list[str]:
        names = [f"{fn.__module__}.{fn.__qualname__}" for fn in collection]
        return [n for n in names if n.startswith("engine.") and not n.startswith("engine.store.")]

    # A fresh Engine's and Session's listeners include those registered on their classes.
    for target in (engine.db.engine, create_engine("sqlite://")):
        for name in ("begin", "commit", "rollback", "savepoint", "release_savepoint", "rollback_savepoint"):
            assert not ours(getattr(target.dispatch, name)), f"{target} has a {name} listener"
    for factory in (engine.db.sessions, engine.db.write_sessions, engine.db.lookup_sessions):
        with factory() as session:
            for name in ("before_flush", "after_flush", "after_flush_postexec", "before_commit", "after_commit"):
                assert not ours(getattr(session.dispatch, name)), f"a session factory has a {name} listener"
    for model in (SupervisedCase, SupervisionAlert, AlertAction):
        for name in ("after_insert", "after_update", "after_delete", "before_insert", "before_update"):
            assert not ours(getattr(inspect_mapper(model).dispatch, name)), f"{model.__name__} has {name}"
    assert engine.pipeline.names()[-2:] == ["statistics roll-up", "commit"]


def test_concurrent_cases_on_one_roll_up_row_are_all_counted(engine, clock):
    world.build(engine)
    clock.set(at(9, 14))
    errors = []

    def receive():
        try:
            for _ in range(4):
                world.start(engine, "town-a", officer="clerk.a")
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=receive) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = _reported(engine, _scope(engine, "sup.county"), "department", date(2026, 9, 14), date(2026, 9, 14))
    assert rows["town-a"][0] == 16
    _assert_rebuild_changes_nothing(engine)


def _raise(engine, case, n=1, *, department="town-a", when=None) -> list[int]:
    """Raise alerts by hand (not through escalation.record), telling the roll-up as that does."""
    with engine.db.session() as session, session.begin():
        alerts = [SupervisionAlert(case_id=case.id, receipt_no=case.receipt_no, stage="case", kind="red",
                                   department=department, officers=["clerk.a"], raised_at=when or at(9, 14, 12))
                  for _ in range(n)]  # fmt: skip
        session.add_all(alerts)
        session.flush()
        for alert in alerts:
            statistics_rollup.alert_raised(session, alert)
        statistics_rollup.write(session)
        return [a.id for a in alerts]


def _edit_in(session, case, **values) -> None:
    """Change a supervision row by hand in `session`'s transaction, telling the roll-up what it counted before."""
    row = session.get(SupervisedCase, case.id)
    before = statistics_rollup.counted(row)
    for name, value in values.items():
        setattr(row, name, value)
    statistics_rollup.row_written(session, before, row)


def _edit(engine, case, **values) -> None:
    with engine.db.write_session() as session, session.begin():
        _edit_in(session, case, **values)
        statistics_rollup.write(session)


def _acknowledgement(alert_id: int) -> AlertAction:
    return AlertAction(alert_id=alert_id, kind="acknowledge", note="已核实", acted_by="sup.county", acted_at=at(9, 15))


def test_open_alerts_follow_raising_acknowledging_and_a_moved_case(engine, clock):
    world.build(engine)
    scope, day = _scope(engine, "sup.county"), (date(2026, 9, 14), date(2026, 9, 14))
    x = _case(engine, clock, "town-a", "clerk.a", at(9, 14))
    y = _case(engine, clock, "town-a", "clerk.a", at(9, 14, 10))  # the same roll-up row as x

    def open_alerts():
        return {k: v[7] for k, v in _reported(engine, scope, "department", *day).items()}

    (x1, _x2), (y1,) = _raise(engine, x, 2), _raise(engine, y)
    assert open_alerts() == {"town-a": 3}
    alerts_board.acknowledge(engine, world.user(engine, "sup.county"), x1, "已核实")
    assert open_alerts() == {"town-a": 2}
    with engine.db.session() as session, session.begin():  # x1 again (no change), and y1
        session.add_all([_acknowledgement(x1), _acknowledgement(y1)])
        statistics_rollup.alert_acknowledged(session, x1)
        statistics_rollup.alert_acknowledged(session, y1)
        statistics_rollup.write(session)
    assert open_alerts() == {"town-a": 1}
    with engine.db.session() as session, session.begin():  # both acknowledgements of x1 go: it is open again
        for action in session.scalars(select(AlertAction).where(AlertAction.alert_id == x1)):
            session.delete(action)
        statistics_rollup.alert_acknowledged(session, x1)
        statistics_rollup.write(session)
    assert open_alerts() == {"town-a": 2}
    _edit(engine, y, department="town-b")
    _raise(engine, y, department="town-b")
    assert open_alerts() == {"town-a": 2, "town-b": 1}
    _edit(engine, x, department="town-b")
    assert open_alerts() == {"town-b": 3}
    assert _reported(engine, scope, "department", *day) == _direct(engine, scope, "department", *day)
    _assert_rebuild_changes_nothing(engine)


@pytest.mark.backend("postgresql")
def test_concurrent_acknowledgements_on_one_roll_up_row_are_both_counted(engine, clock):
    world.build(engine)
    day = (date(2026, 9, 14), date(2026, 9, 14))
    x = _case(engine, clock, "town-a", "clerk.a", at(9, 14))
    y = _case(engine, clock, "town-a", "clerk.a", at(9, 14, 10))
    (x1,), (y1,) = _raise(engine, x), _raise(engine, y)
    first = engine.db.session()
    first.begin()
    first.add(_acknowledgement(x1))
    statistics_rollup.alert_acknowledged(first, x1)
    # As the roll-up phase does: write the roll-up changes (which locks the rows), then stay open for a while.
    statistics_rollup.write(first)
    errors = []

    def second():
        try:
            with engine.db.session() as session, session.begin():
                session.add(_acknowledgement(y1))
                statistics_rollup.alert_acknowledged(session, y1)
                statistics_rollup.write(session)
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    with engine.db.engine.connect() as conn:
        for _ in range(100):
            if conn.exec_driver_sql(waiting).scalar():
                break
            time.sleep(0.05)
        else:
            pytest.fail("the second acknowledgement did not wait for the first")
    first.commit()
    first.close()
    thread.join()
    assert not errors
    rows = _reported(engine, _scope(engine, "sup.county"), "department", *day)
    assert rows["town-a"][7] == 0  # the second recounted after the first had committed
    _assert_rebuild_changes_nothing(engine)


@pytest.mark.backend("postgresql")
def test_transactions_touching_shared_rows_in_opposite_orders_do_not_deadlock(engine, clock):
    """As two timer batches may: each changes two cases whose roll-up rows the other's cases share, in the
    opposite order. The rows are written at commit, in key order, so neither waits for the other mid-way."""
    world.build(engine)
    a1, a2, b1, b2 = (_case(engine, clock, department, "clerk.a", at(9, 14, hour))
                      for department, hour in (("town-a", 9), ("town-b", 10), ("town-b", 11), ("town-a", 12)))  # fmt: skip
    first, second = engine.db.session(), engine.db.session()
    for session in (first, second):
        session.begin()
        session.execute(text("SET LOCAL lock_timeout = '3s'"))
    for session, case in ((first, a1), (second, b1), (first, a2), (second, b2)):
        _edit_in(session, case, extensions=session.get(SupervisedCase, case.id).extensions + 1)
        session.flush()
    statistics_rollup.write(second)
    second.commit()
    statistics_rollup.write(first)
    first.commit()
    first.close(), second.close()
    rows = _reported(engine, _scope(engine, "sup.county"), "department", date(2026, 9, 14), date(2026, 9, 14))
    assert (rows["town-a"][9], rows["town-b"][9]) == (2, 2)
    _assert_rebuild_changes_nothing(engine)
