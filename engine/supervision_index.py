"""Keeps the supervision projection (`supervision_cases`) in step with every case step, and runs the
procedure rules on it.

`on_event` is the one hook the case step calls after appending its audit event, inside the step's
transaction: the projection and any rule alert commit or roll back with the step itself.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.calendar import WorkdayCalendar
from engine.store import AuditEvent, Case, ProcessVersion
from engine.store.supervision import SupervisedCase

OPEN_STATUSES = ("running", "suspended", "error")


def working_calendar(engine, session) -> WorkdayCalendar:
    """The working-day calendar (the time-limits area's cached one)."""
    from engine.deadlines import calendar_for

    return calendar_for(engine, session)


def on_event(engine, session, case: Case, event: AuditEvent) -> None:
    """Refresh the case's supervision row and evaluate the procedure rules on the event just recorded."""
    row = refresh(engine, session, case, event)
    from engine import rules

    rules.evaluate(engine, session, case, event, row)


def refresh(engine, session, case: Case, event: AuditEvent | None = None) -> SupervisedCase:
    """Write the supervision row of `case` from its data, status, active elements and deadlines."""
    row = session.get(SupervisedCase, case.id)
    if row is None:
        pv = session.get(ProcessVersion, case.process_version_id)
        row = SupervisedCase(case_id=case.id, receipt_no=case.receipt_no, process_key=pv.key,
                             officer=case.started_by, created_at=case.created_at, clock_stop_days=0,
                             extensions=0, clock_stopped=False)  # fmt: skip
        session.add(row)
    data = case.data or {}
    applicant = data.get("applicant") if isinstance(data.get("applicant"), dict) else {}
    row.item_code = _text(data.get("item_code"), 64)
    row.item_name = _text(data.get("item_name"), 200)
    row.department = _text(data.get("department"), 64)
    row.applicant_name = _text(applicant.get("name"), 200)
    row.status = case.status
    row.is_open = case.status in OPEN_STATUSES
    row.updated_at = case.updated_at
    row.completed_at = case.completed_at
    if event is not None and isinstance(event.payload, dict) and "active" in event.payload:
        active = [a for a in event.payload["active"] if isinstance(a, str)]
        elements = _elements(engine, session, case)
        row.active = _text(",".join(active), 500)
        stages = dict.fromkeys(_stage_of(elements.get(a) or {}) or a for a in active if _is_activity(elements, a))
        row.stage = _text(",".join(stages), 200)
    _apply_deadlines(engine, session, case, row)
    if case.status == "completed" and case.completed_at is not None:
        calendar = working_calendar(engine, session)
        spent = calendar.workdays_between(case.created_at, case.completed_at) - (row.clock_stop_days or 0)
        row.working_days = max(spent, 0)
        row.on_time = row.due_at is None or case.completed_at <= row.due_at
    elif case.status == "terminated":
        row.working_days, row.on_time = None, None
    return row


def _text(value, length: int) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:length]


def _elements(engine, session, case: Case) -> dict:
    return engine.bundle(session, case.process_version_id).elements


def _is_activity(elements: dict, bpmn_id: str) -> bool:
    tag = (elements.get(bpmn_id) or {}).get("tag", "")
    return tag.endswith("Task") or tag in ("task", "subProcess", "callActivity", "transaction")


def _stage_of(facts: dict) -> str | None:
    properties = facts.get("properties") or {}
    return properties.get("stage") if isinstance(properties, dict) else None


def _apply_deadlines(engine, session, case: Case, row: SupervisedCase) -> None:
    """Copy the case clock's deadlines from the time-limits area (a case without a clock has no colour but green;
    overdue tasks still show on its diagram)."""
    facts = _case_deadlines(engine, session, case)
    if facts is None:
        return
    row.warn_at = facts.get("warn_at")
    row.due_at = facts.get("due_at")
    row.statutory_due_at = facts.get("statutory_due_at")
    stopped = bool(facts.get("clock_stopped"))
    if stopped and not row.clock_stopped:
        row.stopped_colour = colour_at(row, case.updated_at)
    row.clock_stopped = stopped
    row.clock_stop_days = int(facts.get("clock_stop_days") or 0)
    row.extensions = int(facts.get("extensions") or 0)


def _case_deadlines(engine, session, case: Case) -> dict | None:
    """The `case` stage clock as {warn_at, due_at, statutory_due_at, clock_stopped, clock_stop_days, extensions},
    when the time-limits area is installed and the case has such a clock."""
    try:
        from engine import deadlines
    except ImportError:
        return None
    summary = getattr(deadlines, "supervision_summary", None)
    return summary(engine, session, case) if summary else None


def colour_at(row: SupervisedCase, now) -> str | None:
    """The traffic-light colour of an open case at `now` (None for a closed case)."""
    if not row.is_open:
        return None
    if row.clock_stopped and row.stopped_colour:
        return row.stopped_colour
    if row.statutory_due_at is not None and row.statutory_due_at <= now:
        return "red_plus"
    if row.due_at is not None and row.due_at <= now:
        return "red"
    if row.warn_at is not None and row.warn_at <= now:
        return "yellow"
    return "green"


def rebuild(engine) -> int:
    """Rebuild every supervision row from the cases and their trails (after an upgrade or a restore)."""
    count = 0
    with engine.db.write_session() as session, session.begin():
        for case in session.scalars(select(Case)).all():
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq.desc())
            )
            # The latest event that says which elements were active.
            last = next((e for e in events if isinstance(e.payload, dict) and "active" in e.payload), None)
            refresh(engine, session, case, last)
            count += 1
    return count
