"""Helpers for the end-to-end tests of the legal procedures: an engine over the real processes/, forms/ and
catalog, and short ways to walk a case (complete the open task after validating its form, move the clock and
fire due timers, read alerts and clocks)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.calendar import WorkdayCalendar, package_years
from engine.clock import LOCAL_TZ
from engine.process_engine import ProcessEngine
from engine.store import AuditEvent, Database, upgrade
from engine.store.time_limits import ClockStop, StageClock, SupervisionAlert, SupervisionLetter
from tests.conftest import ROOT

PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
CALENDAR = WorkdayCalendar.from_holidays(package_years())


@pytest.fixture(name="procedures")
def procedures_fixture(database_url, clock):
    """An engine with the four procedures deployed and the catalog loaded."""
    db = Database(database_url)
    upgrade(db)
    engine = ProcessEngine(db, clock=clock, forms_dir=FORMS)
    for path in sorted(PROCESSES.glob("*.bpmn")):
        engine.repository.deploy_file(path, "designer")
    engine.identity.load_departments(PROCESSES / "departments.toml")
    engine.catalog.load(PROCESSES / "catalog.toml")
    yield engine
    engine.close()


PERSON = {"name": "张三", "id_no": "110101199001011234", "phone": "13800000000", "kind": "person"}
COMPANY = {"name": "示范县好味餐饮有限公司", "id_no": "91110000MA0000000X", "phone": "010-12345678",
           "kind": "organisation"}  # fmt: skip


def apply(engine, code: str, applicant: dict | None = None, provided: list[str] | None = None, **data):
    """Start a case from a catalog item, all materials provided unless `provided` says otherwise."""
    item = engine.catalog.get(code)
    names = [m.name for m in item.materials] if provided is None else provided
    return engine.catalog.apply(code, applicant or COMPANY, {"materials": names, **data}, actor="window.li")


def open_tasks(engine, case_id) -> list:
    return engine.tasks.query(case_id=case_id, limit=1000)


def task_of(engine, case_id, bpmn_id: str):
    found = [t for t in open_tasks(engine, case_id) if t.bpmn_id == bpmn_id]
    assert found, f"no open task {bpmn_id}; open: {[t.bpmn_id for t in open_tasks(engine, case_id)]}"
    return found[0]


def complete(engine, case_id, bpmn_id: str, data: dict, user: str = "officer.wang"):
    """Complete the open task `bpmn_id` of the case with `data`, which must satisfy the task's form."""
    task = task_of(engine, case_id, bpmn_id)
    data = {"opinion": "同意", **data}
    assert task.form_key, f"{bpmn_id} has no form"
    engine.forms.check(task.form_key, data)
    engine.tasks.complete(task.id, user, data)
    return task


def send(engine, case_id, message: str, payload: dict | None = None):
    return engine.runtime.send_message(case_id, message, payload or {}, actor="applicant")


def advance_to(engine, clock, when: datetime) -> None:
    """Move the clock to `when`, firing every timer that falls due on the way, in order."""
    while True:
        due = [c for c in _running_timer_cases(engine) if c[1] is not None and c[1] <= when]
        if not due:
            break
        first = min(d[1] for d in due)
        clock.set(max(first + timedelta(seconds=1), clock.now()))
        for case_id, at in due:
            if at <= clock.now():
                engine.runtime.fire_timers(case_id)
    clock.set(when)


def _running_timer_cases(engine):
    from engine.store import Case

    with engine.db.session() as session:
        return list(session.execute(select(Case.id, Case.next_timer_at).where(Case.status == "running")))


def local(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=LOCAL_TZ)


def workdays_after(start: date, n: int) -> date:
    return CALENDAR.add_workdays(start, n).day


def alerts(engine, case_id) -> list[tuple[str, str]]:
    """(kind, stage) of the case's supervision alerts, in the order raised."""
    with engine.db.session() as session:
        rows = session.scalars(
            select(SupervisionAlert).where(SupervisionAlert.case_id == case_id).order_by(SupervisionAlert.id)
        )
        return [(a.kind, a.stage) for a in rows]


def letters(engine, case_id) -> list:
    with engine.db.session() as session:
        return list(session.scalars(select(SupervisionLetter).where(SupervisionLetter.case_id == case_id)))


def clocks(engine, case_id) -> dict[str, StageClock]:
    """The latest clock of each stage of the case."""
    with engine.db.session() as session:
        rows = session.scalars(select(StageClock).where(StageClock.case_id == case_id).order_by(StageClock.id))
        return {r.stage: r for r in rows}


def stops(engine, case_id) -> list[ClockStop]:
    with engine.db.session() as session:
        return list(session.scalars(select(ClockStop).where(ClockStop.case_id == case_id).order_by(ClockStop.id)))


def route(engine, case_id) -> list[str]:
    """Every BPMN element the case passed, in order (from the audit trail)."""
    with engine.db.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq))
        return [bpmn_id for e in events for bpmn_id in (e.payload or {}).get("completed", [])]


def data(engine, case_id) -> dict:
    return engine.runtime.describe(case_id)["data"]


def status(engine, case_id) -> str:
    return engine.runtime.describe(case_id)["status"]
