"""Keeps the supervision projection (`supervision_cases`) in step with every case step, and runs the
procedure rules on it.

`on_event` is a phase of the case step's pipeline (declared in engine/process_engine.py): the step runs it after
its audit phase, inside the step's transaction, so the projection and any rule alert commit or roll back with the
step itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, select

from engine import rules, statistics_rebuild, statistics_rollup, task_projection
from engine.calendar import WorkdayCalendar
from engine.colour import Thresholds, colour_of, policy_of, thresholds_for
from engine.deadlines import ClockFacts, Interval, calendar_for, supervision_summary
from engine.diagram import CONTAINER_TAGS
from engine.stage_clocks import EFFECTS_KEY, StepClocks
from engine.store import AuditEvent, Case, ClockStop, StageClock
from engine.store.supervision import SupervisedCase

OPEN_STATUSES = ("running", "suspended", "error")
_ABSENT = object()  # "looked for the supervision row: there is none" (as against "not looked for")
# A case's supervision row and whether it has any clock or clock stop, in one statement (built once).
_ROW_AND_CLOCKS = (
    select(SupervisedCase,
           select(StageClock.id).where(StageClock.case_id == bindparam("case_id")).exists(),
           select(ClockStop.id).where(ClockStop.case_id == bindparam("case_id")).exists())
    .select_from(Case).outerjoin(SupervisedCase, SupervisedCase.case_id == Case.id)
    .where(Case.id == bindparam("case_id"))
)  # fmt: skip


@dataclass
class CaseClocks:
    """The stage clocks and clock stops of one case as the step sees them, read at most once per step."""

    latest: list = field(default_factory=list)  # the latest clock of each stage
    rows: list = field(default_factory=list)  # every clock row (restarted stages too), in the order they started
    stops: list = field(default_factory=list)  # every clock stop, in the order they started

    @classmethod
    def of_step(cls, step) -> CaseClocks:
        """The clocks the step loaded (time limits' StepClocks): the same session objects, changes included."""
        clocks = step.effects.get(EFFECTS_KEY) or StepClocks.of(step)
        return cls(list(clocks.clocks.values()), list(clocks.rows), list(clocks.stops))

    def stored(self):
        """(latest clocks as ClockFacts, stops as Intervals), as `deadlines.stored_clocks` gives them."""
        return [ClockFacts.of(c) for c in self.latest], [Interval(s.started_at, s.ended_at) for s in self.stops]


def working_calendar(engine, session) -> WorkdayCalendar:
    """The working-day calendar (the time-limits area's cached one)."""
    return calendar_for(engine, session)


def on_event(engine, session, case: Case, event: AuditEvent, step=None) -> None:
    """Refresh the case's supervision row and evaluate the procedure rules on the event just recorded.

    `step`: the StepContext of the case step, whose clocks are reused instead of read again (None: read here)."""
    row, clocks = _step_facts(session, case, step) if step is not None else (None, None)
    row = refresh(engine, session, case, event, row=row, clocks=clocks)
    rules.evaluate(engine, session, case, event, row, clocks=clocks)


def _step_facts(session, case: Case, step) -> tuple[SupervisedCase | None, CaseClocks]:
    """The case's supervision row and clocks for one step, in one query at most.

    Read without autoflush: the step's pending rows cannot change the answer (the supervision row is written only
    here; clocks the step made are in its StepClocks), and the commit flushes them once."""
    with session.no_autoflush:
        if step.effects.get(EFFECTS_KEY) is not None:
            row = _pending_row(session, case) or session.get(SupervisedCase, case.id)
            return row or _ABSENT, CaseClocks.of_step(step)
        # The locking query read them with the case (step.locked_case); else one query here.
        found = session.info.get("case_facts", {}).get(case.id)
        if found is None:
            found = session.execute(_ROW_AND_CLOCKS, {"case_id": case.id}).first()
        row = _pending_row(session, case) or (found[0] if found else None) or _ABSENT
        if found is not None and (found[1] or found[2]):
            return row, CaseClocks.of_step(step)  # clocks from earlier steps (or written by hand): read them
        return row, CaseClocks()


def _pending_row(session, case: Case) -> SupervisedCase | None:
    return next((o for o in session.new if isinstance(o, SupervisedCase) and o.case_id == case.id), None)


def refresh(engine, session, case: Case, event: AuditEvent | None = None, *, row=None,
            clocks: CaseClocks | None = None) -> SupervisedCase:  # fmt: skip
    """Write the supervision row of `case` from its data, status, active elements and deadlines.

    `row` / `clocks`: already read by the caller (a case step; `_ABSENT`: there is no row yet); None reads them
    here."""
    if row is None:
        with session.no_autoflush:
            row = _pending_row(session, case) or session.get(SupervisedCase, case.id)
    counted = statistics_rollup.counted(None if row is _ABSENT else row)  # told to the roll-up with the new row
    if row is None or row is _ABSENT:
        process_key = engine.bundle(session, case.process_version_id).key  # the version's key, cached
        row = SupervisedCase(case_id=case.id, receipt_no=case.receipt_no, process_key=process_key,
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
        stages = dict.fromkeys(_stage_of(elements.get(a) or {}) or a for a in current_steps(elements, active))
        row.stage = _text(",".join(stages), 200)
    _apply_deadlines(engine, session, case, row, clocks)
    if case.status == "completed" and case.completed_at is not None:
        calendar = working_calendar(engine, session)
        spent = calendar.workdays_between(case.created_at, case.completed_at) - (row.clock_stop_days or 0)
        row.working_days = max(spent, 0)
        row.on_time = row.due_at is None or case.completed_at <= row.due_at
    elif case.status == "terminated":
        row.working_days, row.on_time = None, None
    statistics_rollup.row_written(session, counted, row)
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


def current_steps(elements: dict, active) -> list[str]:
    """The activities among `active` (element ids) a case stands at: the innermost ones, never a watch. A
    sub-process is no step while an activity inside it is active (that one is)."""
    activities = [a for a in dict.fromkeys(active) if _is_activity(elements, a)]
    if not _knows_containers(elements):
        return activities
    holders = {(elements.get(a) or {}).get("within") for a in activities}
    return [a for a in activities if a not in holders and not _is_watch(elements, a)]


def steps(elements: dict) -> list[str]:
    """Every activity of a process a case can stand at: all but its watches."""
    known = _knows_containers(elements)
    return [a for a in elements if _is_activity(elements, a) and not (known and _is_watch(elements, a))]


def _knows_containers(elements: dict) -> bool:
    """Whether the element facts say what lies within what (versions deployed before they did: every active
    activity counts as a step)."""
    return any("within" in (facts or {}) for facts in elements.values())


def _is_watch(elements: dict, bpmn_id: str) -> bool:
    """A sub-process holding no activity only waits for its end while its boundary timers raise the alerts (a
    procedure's whole-case watch): no step a person or the engine works at."""
    if (elements.get(bpmn_id) or {}).get("tag") not in CONTAINER_TAGS:
        return False
    return not any((f or {}).get("within") == bpmn_id and _is_activity(elements, e) for e, f in elements.items())


def _stage_of(facts: dict) -> str | None:
    properties = facts.get("properties") or {}
    return properties.get("stage") if isinstance(properties, dict) else None


def _apply_deadlines(engine, session, case: Case, row: SupervisedCase, clocks: CaseClocks | None = None) -> None:
    """Copy the case clock's deadlines from the time-limits area (a case without a clock has no colour but green;
    overdue tasks still show on its diagram)."""
    if clocks is not None and not clocks.latest:
        return  # no clock: nothing to copy (as the time-limits area would say, without asking it)
    facts = _case_deadlines(engine, session, case, clocks)
    if facts is None:
        return
    row.warn_at = facts.get("warn_at")
    row.due_at = facts.get("due_at")
    row.statutory_due_at = facts.get("statutory_due_at")
    stopped = bool(facts.get("clock_stopped"))
    if stopped and not row.clock_stopped:
        row.stopped_colour = colour_at(row, thresholds_for(engine, case.updated_at, session))
    row.clock_stopped = stopped
    row.clock_stop_days = int(facts.get("clock_stop_days") or 0)
    row.extensions = int(facts.get("extensions") or 0)


def _case_deadlines(engine, session, case: Case, clocks: CaseClocks | None = None) -> dict | None:
    """The `case` stage clock as {warn_at, due_at, statutory_due_at, clock_stopped, clock_stop_days, extensions},
    when the case has such a clock."""
    if clocks is not None:
        return supervision_summary(engine, session, case, clocks.stored())
    return supervision_summary(engine, session, case)


def colour_at(row: SupervisedCase, at: Thresholds) -> str | None:
    """The traffic-light colour of an open case at `at` (None for a closed case; green without a clock; the colour
    it had when its clock stopped while it stands still): `engine.colour`'s rule on the row's instants."""
    if not row.is_open:
        return None
    frozen = row.stopped_colour if row.clock_stopped else None
    return colour_of(at, row.due_at, row.warn_at, row.statutory_due_at, frozen=frozen, untimed="green")


def rebuild(engine) -> int:
    """Rebuild every supervision row from the cases and their trails (after an upgrade or a restore), and give the
    open task rows kept before revision 0009 the instants of their clock (`task_projection.backfill_instants`)."""
    count = 0
    with engine.db.write_session() as session, session.begin():
        task_projection.backfill_instants(session, calendar_for(engine, session), engine.now(), policy_of(engine))
        for case in session.scalars(select(Case)).all():
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq.desc())
            )
            # The latest event that says which elements were active.
            last = next((e for e in events if isinstance(e.payload, dict) and "active" in e.payload), None)
            refresh(engine, session, case, last)
            count += 1
        statistics_rebuild.rebuild(session)  # the statistics roll-up, recomputed from the rows just refreshed
    return count
