"""The case step as a command pipeline: one service call on one case = one transaction, run through phases declared
once in the engine's configuration (Camunda's CommandExecutor and CommandContext are the model).

    load & lock → apply (the step, engine steps) → [the step phases, in their declared order] → [the commit
    phases] → commit

`run_step` loads and locks the case row (FOR UPDATE on PostgreSQL; on SQLite the write transaction and the
version counter do it), restores the workflow and calls the step's `apply`; `Pipeline.project` then runs the step
phases on the `StepContext` (the engine's configuration declares them: the timers, the stage clocks, the state,
the tasks, the audit event, the supervision row and the procedure rules) and `Pipeline.finish` the commit phases
once per transaction (the statistics roll-up). Any error rolls all of it back. A failing script or timer in the
diagram then marks the case `error` in a transaction of its own (`record_failure`), so the case shows where it
stopped and can be retried. Areas below the services (the scheduler, time limits, supervisor actions) run their
steps here; the services call it too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import audit, correlation, workflow, workflow_clock
from engine.case_json import json_plain
from engine.errors import CaseNotRunning, CaseScriptError, Conflict, NotFound
from engine.store import AuditEvent, Case, ClockStop, HumanTask, StageClock
from engine.store.supervision import SupervisedCase

__all__ = [
    "NothingDue", "Phase", "Pipeline", "StepContext", "StepFailed", "current_step", "json_plain", "locked_case",
    "mark_error", "record_failure", "reopen_after_error", "run_step", "step_on",
]  # fmt: skip

# The one channel of the pipeline that is not an argument: the time-limit functions of diagram scripts
# (`deadline('review')`, `alert(...)`, engine/timekeeping.py) are bound into the engine's sandbox once, and
# SpiffWorkflow calls a script with the task's data only, so they reach the step that runs the script through it.
_current_step: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("govflow_step", default=None)


class StepFailed(Exception):
    """A script or timer of the diagram failed in a step: raised inside the step's transaction (which rolls
    back), then recorded by `record_failure` in a transaction of its own."""

    def __init__(self, case_id: str, failure: workflow.ScriptFailure):
        super().__init__(case_id, failure.element_id, failure.message)
        self.case_id, self.failure = case_id, failure


def record_failure(engine, actor: str, failed: StepFailed) -> CaseScriptError:
    """Mark the case `error` with the element and message (its own transaction); the error to raise."""
    mark_error(engine, failed.case_id, actor, failed.failure)
    return CaseScriptError(failed.case_id, failed.failure.element_id, failed.failure.message)


class NothingDue(Exception):
    """No case has a timer due (or every due case is being fired by another worker)."""


@dataclass
class StepContext:
    """What the step and its phases get: the open transaction, the locked case, its workflow and the trail so far.

    `effects`: per-area working state of this step, made by the area itself (e.g. "time_limits": the case's
    clocks, read once and written back by the stage-clock phase). `action`, `payload`, `task_id`: what the audit
    phase records (the payload is what `apply` returned); `event`: the audit event, once that phase appended it."""

    engine: object
    session: Session
    case: Case
    flow: workflow.CaseWorkflow | None
    actor: str
    now: datetime
    trail: list[str] = field(default_factory=list)
    completed_task: tuple[str, str] | None = None  # (task id, completed by)
    _open_tasks: list[HumanTask] | None = None
    effects: dict = field(default_factory=dict)
    action: str = ""
    payload: dict = field(default_factory=dict)
    task_id: str | None = None
    event: AuditEvent | None = None
    active: bool = True

    def __post_init__(self):
        _current_step.set(self)

    def record(self, bpmn_id: str) -> None:
        self.trail.append(bpmn_id)

    def close(self) -> None:
        """From here on diagram helpers are outside the step (`current_step()` is None)."""
        self.active = False
        if _current_step.get() is self:
            _current_step.set(None)

    def open_tasks(self) -> list[HumanTask]:
        """The case's open task rows, read once per step (the case row is locked, so they cannot change)."""
        if self._open_tasks is None:
            self._open_tasks = list(self.session.scalars(_OPEN_TASKS, {"case_id": self.case.id}))
        return self._open_tasks

    def open_task(self, task_id: str) -> HumanTask | None:
        """An open task row of this case, else the row in whatever state it is (None when unknown)."""
        for row in self.open_tasks():
            if row.id == task_id:
                return row
        return self.session.get(HumanTask, task_id, populate_existing=True)


def current_step() -> StepContext | None:
    """The case step running in this context, if any (None outside a step or after it was saved)."""
    ctx = _current_step.get()
    # A step that failed before saving leaves its context behind with a closed session: not a step any more.
    return ctx if ctx is not None and ctx.active and ctx.session.in_transaction() else None


@dataclass(frozen=True)
class Phase:
    """A named unit of the pipeline. A step phase runs on the StepContext (`flow`: only when the step restored
    the workflow); a commit phase runs once per transaction, on its session."""

    name: str
    run: Callable
    flow: bool = False


class Pipeline:
    """The ordered phases of a case step (declared once, in the engine's configuration)."""

    def __init__(self, step_phases: Sequence[Phase], commit_phases: Sequence[Phase] = ()):
        names = [phase.name for phase in (*step_phases, *commit_phases)]
        if len(set(names)) != len(names):
            raise ValueError(f"pipeline phases must have distinct names: {names}")
        self.step_phases, self.commit_phases = tuple(step_phases), tuple(commit_phases)

    def names(self) -> list[str]:
        """Every phase in the order a step runs it, the fixed frame included."""
        return ["load & lock", "apply", *(p.name for p in self.step_phases), *(p.name for p in self.commit_phases),
                "commit"]  # fmt: skip

    def project(self, ctx: StepContext) -> None:
        """Run the step phases on a step whose `apply` has run."""
        for phase in self.step_phases:
            if ctx.flow is not None or not phase.flow:
                phase.run(ctx)

    def finish(self, session: Session) -> None:
        """Run the commit phases: the last writes of the transaction, once for all its steps."""
        for phase in self.commit_phases:
            phase.run(session)


# The step's statements are built once: building a statement costs more than SQLAlchemy's cached execution of it.
_OPEN_TASKS = select(HumanTask).where(HumanTask.case_id == bindparam("case_id"), HumanTask.state == "open")
_HAS_CLOCKS = select(StageClock.id).where(StageClock.case_id == Case.id).exists().label("has_clocks")
_HAS_STOPS = select(ClockStop.id).where(ClockStop.case_id == Case.id).exists().label("has_stops")
# The case with its supervision row and whether it has clocks: found by case id or by one of its tasks' ids.
_CASE_ROW = select(Case, SupervisedCase, _HAS_CLOCKS, _HAS_STOPS).outerjoin(
    SupervisedCase, SupervisedCase.case_id == Case.id
)
_LOCK = {
    "case": _CASE_ROW.where(Case.id == bindparam("ref")),
    "task": _CASE_ROW.join(HumanTask, HumanTask.case_id == Case.id).where(HumanTask.id == bindparam("ref")),
}
_LOCK_FOR_UPDATE = {how: query.with_for_update(of=Case) for how, query in _LOCK.items()}


@contextmanager
def locked_case(engine, case_id: str | None, task_id: str | None = None,
                due_by: datetime | None = None) -> Iterator[tuple[Session, Case]]:  # fmt: skip
    """The load & lock phase: a write transaction holding the case row (found from the task when only the task
    is known). The caller runs the commit phases before the block ends.

    With `due_by`: the running case (this one, or the earliest due) whose timer is due before `due_by`, claimed
    with SKIP LOCKED on PostgreSQL so concurrent workers take different cases; NothingDue when there is none."""
    session = engine.db.write_session()
    try:
        with session.begin():
            # The case's supervision row and whether it has clocks come with it (the supervision phase reads them).
            params = None
            if due_by is not None:
                query = _CASE_ROW.where(Case.status == "running", Case.next_timer_at < due_by)
                if case_id is not None:
                    query = query.where(Case.id == case_id)
                query = query.order_by(Case.next_timer_at).limit(1)
                if engine.db.is_postgresql:
                    query = query.with_for_update(skip_locked=True, of=Case)
            else:
                how, params = ("task", {"ref": task_id}) if case_id is None else ("case", {"ref": case_id})
                query = (_LOCK_FOR_UPDATE if engine.db.is_postgresql else _LOCK)[how]
            found = session.execute(query, params).first()
            if found is None:
                raise NothingDue() if due_by is not None else NotFound(f"{how} {params['ref']} does not exist")
            case = found[0]
            # Held here (the identity map keeps weak references only): {case id: (supervision row, has clocks,
            # has clock stops)}.
            session.info["case_facts"] = {case.id: tuple(found[1:])}
            yield session, case
    except StaleDataError:
        raise Conflict(f"case {case_id} was changed by someone else meanwhile; reload and try again") from None
    finally:
        session.close()


def run_step(engine, case_id: str | None, actor: str, action: str, apply: Callable[[StepContext], dict | None], *,
             statuses: tuple[str, ...] | None = ("running",), task_id: str | None = None,
             load_flow: bool = True, due_by: datetime | None = None) -> Case:  # fmt: skip
    """Apply `apply` to the case inside one transaction, through every phase of the engine's pipeline.

    `statuses`: the case statuses the action needs (None: any). `due_by` claims the case (or the earliest due
    case when `case_id` is None) only if its timer is due before then; NothingDue otherwise (the scheduler's
    claim)."""
    try:
        with workflow_clock.clock_context(engine.now), locked_case(engine, case_id, task_id, due_by) as (session, case):
            step_on(engine, session, case, actor, action, apply, statuses=statuses, task_id=task_id,
                    load_flow=load_flow)  # fmt: skip
            engine.pipeline.finish(session)
    except StepFailed as failed:
        raise record_failure(engine, actor, failed) from None
    deliver_thrown(engine, session)
    return case


def deliver_thrown(engine, session: Session) -> None:
    """After a committed transaction whose steps threw messages or signals: deliver them now (each receiving case
    in its own transaction; what cannot be delivered now stays in the outbox for the worker's next round)."""
    if session.info.pop(correlation.OUTBOX_KEY, False):
        engine.messaging.deliver_pending()


def step_on(engine, session: Session, case: Case, actor: str, action: str,
            apply: Callable[[StepContext], dict | None], *, statuses: tuple[str, ...] | None = ("running",),
            task_id: str | None = None, load_flow: bool = True, prefetched: dict | None = None,
            flow: workflow.CaseWorkflow | None = None) -> Case:  # fmt: skip
    """One case step on a case row the caller holds locked (or has just created) in `session`'s open transaction:
    apply, then the step phases. The caller runs the commit phases (`engine.pipeline.finish`) and commits.

    `flow`: the workflow, when the caller has it (a case being started). `prefetched`: rows of this case the
    caller read for several cases at once ("open_tasks": the open task rows; "effects": area key → a function of
    the StepContext making that area's step state). A failing script raises StepFailed: the caller rolls its
    transaction back, then `record_failure` marks the case `error`."""
    ctx = None
    try:
        if statuses is not None and case.status not in statuses:
            raise CaseNotRunning(
                f"case {case.receipt_no} is {case.status}; this action needs it {' or '.join(statuses)}",
                key="case_not_in_status",
                params={"receipt_no": case.receipt_no, "status": case.status, "needed": list(statuses)},
            )
        if flow is None and load_flow:
            bundle = engine.bundle(session, case.process_version_id)
            flow = workflow.CaseWorkflow.load(bundle, case.state, case.serializer_version, engine.script_engine())
        ctx = StepContext(engine, session, case, flow, actor, engine.now(), action=action, task_id=task_id)
        if prefetched:
            ctx._open_tasks = prefetched.get("open_tasks")
            for key, make in prefetched.get("effects", {}).items():
                ctx.effects[key] = make(ctx)
        ctx.payload = apply(ctx) or {}
        engine.pipeline.project(ctx)
        return case
    except workflow.ScriptFailure as failure:
        raise StepFailed(case.id, failure) from None
    finally:
        if ctx is not None:
            ctx.close()


def save_state(ctx: StepContext) -> None:
    """The state phase: the workflow state, status, data snapshot and next timer of the case. A process ended by
    an error nobody caught leaves the case in `error` (the step is kept: the path to the error end event ran)."""
    case, flow = ctx.case, ctx.flow
    case.data = flow.share_data(ctx.engine.case_data_limit)  # before the dump: the shared data is in the state
    case.state, case.serializer_version = flow.dump()
    case.next_timer_at = flow.next_timer_due()
    unhandled = flow.unhandled_error
    if unhandled is not None and case.status == "running":
        case.status = "error"
        case.error_element, case.error_message = unhandled.element_id, unhandled.message
        ctx.effects["unhandled_error"] = unhandled
    elif flow.completed and case.status == "running":
        case.status = "completed"
        case.completed_at = ctx.now


def append_audit(ctx: StepContext) -> None:
    """The audit phase: one event in the case's hash chain for the step, with the elements it completed and the
    active ones. From here on diagram helpers are outside the step."""
    ctx.close()
    payload = dict(ctx.payload)
    bpmn_id = payload.pop("_bpmn_id", None)
    if ctx.flow is not None:
        payload = {**payload, "completed": ctx.trail, "active": ctx.flow.active_elements()}
    ctx.case.updated_at = ctx.now
    ctx.event = audit.append(ctx.session, ctx.case, ctx.now, ctx.actor, ctx.action, payload, task_id=ctx.task_id,
                             bpmn_id=bpmn_id)  # fmt: skip
    unhandled = ctx.effects.get("unhandled_error")
    if unhandled is not None:  # after the step's own event, as a failure's `case_error` follows the failed step
        audit.append(ctx.session, ctx.case, ctx.now, ctx.actor, "case_error",
                     {"element": unhandled.element_id, "code": unhandled.code, "message": unhandled.message},
                     bpmn_id=unhandled.element_id)  # fmt: skip


def reopen_after_error(ctx: StepContext) -> dict:
    """A retry's step on a case in `error`: back to running, its engine steps and due timers run again; returns
    the error it had. A process ended by an error nobody caught has ended: it is not run again (that would make
    the abnormal end look like a completion)."""
    unhandled = ctx.flow.unhandled_error
    if unhandled is not None:
        raise CaseNotRunning(f"case {ctx.case.receipt_no}: {unhandled.message}; an unhandled error cannot be "
                             f"retried: terminate the case, or start a new one")  # fmt: skip
    previous = {"element": ctx.case.error_element, "message": ctx.case.error_message}
    ctx.case.status = "running"
    ctx.case.error_element = ctx.case.error_message = None
    ctx.flow.fire_due_timers(ctx.record)
    return previous


def mark_error(engine, case_id: str, actor: str, failure: workflow.ScriptFailure) -> None:
    """Record where and why the case stopped, in a transaction of its own (a step of its own, whatever the case's
    status)."""

    def apply(ctx: StepContext) -> dict:
        ctx.case.status = "error"
        ctx.case.error_element = failure.element_id
        ctx.case.error_message = failure.message
        return {"element": failure.element_id, "message": failure.message, "_bpmn_id": failure.element_id}

    run_step(engine, case_id, actor, "case_error", apply, statuses=None, load_flow=False)
