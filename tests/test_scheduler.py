"""The timer scheduler: the real APScheduler with second-scale timers, timers that fell due while no worker ran,
one worker on SQLite, exactly-once firing by two workers on PostgreSQL, and no silently dead timer."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from engine.errors import CaseScriptError
from engine.process_engine import ProcessEngine
from engine.scheduler import TimerScheduler, WorkerRefused, drain
from engine.store import AuditEvent, Case, Database
from tests.conftest import FIXTURES


@pytest.fixture
def live_engine(engine):
    """A second engine on the same (already migrated) database, on the system clock."""
    eng = ProcessEngine(Database(engine.db.url), forms_dir=FIXTURES / "forms")
    eng.repository.deploy_file(FIXTURES / "tl_short_timer.bpmn", "designer")
    yield eng
    eng.close()


def _fired_events(engine):
    with engine.db.session() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == "timers_fired")).all()


def _fired_per_case(engine) -> dict[str, int]:
    with engine.db.session() as s:
        rows = s.execute(
            select(AuditEvent.case_id, func.count()).where(AuditEvent.action == "timers_fired")
            .group_by(AuditEvent.case_id)
        ).all()  # fmt: skip
    return dict(rows)


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_real_apscheduler_fires_second_scale_timers_within_a_second(live_engine):
    with TimerScheduler(live_engine, sweep_seconds=60):
        cases = [live_engine.runtime.start("tl_short_timer", {"wait_for": f"PT{n}S"}) for n in (1, 2, 2, 3)]
        assert _wait_for(lambda: len(_fired_events(live_engine)) >= len(cases), 8)
    events = _fired_events(live_engine)
    assert sorted(e.case_id for e in events) == sorted(c.id for c in cases)
    for e in events:
        lateness = (e.at - datetime.fromisoformat(e.payload["due"])).total_seconds()
        assert 0 < lateness < 1.0, lateness
    for c in cases:
        assert [t.bpmn_id for t in live_engine.tasks.query(case_id=c.id)] == ["after_wait"]


@pytest.mark.backend("postgresql")  # LISTEN/NOTIFY is PostgreSQL's
def test_a_worker_hears_of_timers_set_by_another_process_on_postgresql(live_engine, database_url):
    web = ProcessEngine(Database(database_url), forms_dir=None)  # e.g. the web app: no scheduler of its own
    try:
        with TimerScheduler(live_engine, sweep_seconds=60):
            time.sleep(0.5)  # the listener is connected
            case = web.runtime.start("tl_short_timer", {"wait_for": "PT1S"})
            assert _wait_for(lambda: len(_fired_events(web)) == 1, 5)
    finally:
        web.close()
    (event,) = _fired_events(web)
    assert event.case_id == case.id and (event.at - datetime.fromisoformat(event.payload["due"])).total_seconds() < 1


def test_timers_due_while_the_worker_was_stopped_fire_once_at_start(engine, deploy, clock):
    deploy("tl_short_timer.bpmn")
    cases = [engine.runtime.start("tl_short_timer", {"wait_for": "PT1H"}) for _ in range(20)]
    clock.advance(hours=3)  # the service was down meanwhile
    scheduler = TimerScheduler(engine, sweep_seconds=60).start()
    try:
        assert _wait_for(lambda: scheduler.fired >= 20, 10)
        time.sleep(0.3)  # nothing more happens
    finally:
        scheduler.stop()
    assert _fired_per_case(engine) == {c.id: 1 for c in cases}
    assert scheduler.fired == 20


@pytest.mark.backend("sqlite")  # several workers are allowed on PostgreSQL
def test_a_second_worker_on_sqlite_is_refused_with_a_clear_message(engine, database_url):
    other = ProcessEngine(Database(database_url), forms_dir=None)
    first = TimerScheduler(engine).start()
    try:
        with pytest.raises(WorkerRefused, match="another govflow worker is already running on the SQLite database"):
            TimerScheduler(other).start()
    finally:
        first.stop()
    TimerScheduler(other).start().stop()  # free again once the first stopped
    other.close()


def test_a_failing_timer_expression_marks_the_case_error_with_element_and_message(engine, deploy, clock):
    deploy("tl_bad_timer.bpmn")
    case = engine.runtime.start("tl_bad_timer", {"when_text": "下周二"})
    clock.advance(hours=2)
    assert drain(engine) == 1
    view = engine.runtime.describe(case.id)
    assert view["status"] == "error" and view["error"]["element"] == "broken_wait"
    assert "timer expression 'when_text'" in view["error"]["message"] and "下周二" in view["error"]["message"]
    assert drain(engine) == 0  # never fired again and again
    with pytest.raises(CaseScriptError, match="broken_wait"):
        engine.runtime.retry(case.id, actor="admin")


def test_a_failing_case_in_a_batch_rolls_back_alone_and_the_others_fire(engine, deploy, clock):
    """Due cases are fired in batches (one transaction): the failing case leaves nothing of its step behind and
    is marked `error`; every other case of the batch fires once."""
    deploy("tl_short_timer.bpmn")
    deploy("tl_bad_timer.bpmn")
    good = [engine.runtime.start("tl_short_timer", {"wait_for": "PT1M"}) for _ in range(3)]
    bad = engine.runtime.start("tl_bad_timer", {"when_text": "下周二"})
    good += [engine.runtime.start("tl_short_timer", {"wait_for": "PT1M"}) for _ in range(3)]
    clock.advance(hours=2)
    assert drain(engine) == 7  # six fired, one marked error
    assert drain(engine) == 0
    fired = _fired_per_case(engine)
    assert fired == {case.id: 1 for case in good}
    view = engine.runtime.describe(bad.id)
    assert view["status"] == "error" and view["error"]["element"] == "broken_wait"
    with engine.db.session() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.case_id == bad.id).order_by(AuditEvent.seq))
        assert list(actions) == ["case_started", "case_error"]
    for case in good:
        assert [t.bpmn_id for t in engine.tasks.query(case_id=case.id)] == ["after_wait"]


def test_a_timer_expression_failing_at_start_refuses_the_start(engine, deploy):
    deploy("tl_short_timer.bpmn")
    with pytest.raises(CaseScriptError, match="wait"):
        engine.runtime.start("tl_short_timer", {"wait_for": "one hour"})


@pytest.mark.backend("postgresql")  # SKIP LOCKED claiming
def test_two_workers_on_postgresql_fire_1000_due_timers_exactly_once(engine, deploy, clock, database_url):
    deploy("tl_short_timer.bpmn")
    cases = [engine.runtime.start("tl_short_timer", {"wait_for": "PT1M"}) for _ in range(1000)]
    clock.advance(minutes=5)
    workers = [ProcessEngine(Database(database_url), clock=clock, forms_dir=None) for _ in range(2)]
    counts = [0, 0]

    def work(i):
        counts[i] = drain(workers[i], threads=4)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w.close()
    assert sum(counts) == 1000 and all(counts), counts  # both took part
    assert _fired_per_case(engine) == {c.id: 1 for c in cases}
    with engine.db.session() as s:
        assert s.scalar(select(func.count()).where(Case.next_timer_at.is_not(None))) == 0
