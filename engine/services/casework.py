"""One service call on one case = one transaction.

Lock the case row (FOR UPDATE on PostgreSQL; on SQLite the write transaction and the version counter do it),
restore the workflow, apply the step, run engine steps, then write the state, the task projection and the
audit event, and commit. Any error rolls all of it back. A failing script or timer in the diagram then marks
the case `error` in a transaction of its own, so the case shows where it stopped and can be retried.
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import audit, inbox_projection, workflow
from engine.errors import CaseNotRunning, CaseScriptError, Conflict, NotFound
from engine.store import Case, ClockStop, HumanTask, StageClock, TaskCandidate
from engine.store.supervision import SupervisedCase

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# The step being run in this thread/context: diagram helpers (deadlines, alerts) reach their case through it.
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
    """What a step function gets: the open transaction, the locked case, its workflow and the trail so far."""

    engine: object
    session: Session
    case: Case
    flow: workflow.CaseWorkflow | None
    actor: str
    now: datetime
    trail: list[str] = field(default_factory=list)
    completed_task: tuple[str, str] | None = None  # (task id, completed by)
    _open_tasks: list[HumanTask] | None = None
    # Per-area working state of this step (e.g. "time_limits": the case's clocks), written back by save hooks.
    effects: dict = field(default_factory=dict)
    active: bool = True

    def __post_init__(self):
        _current_step.set(self)

    def record(self, bpmn_id: str) -> None:
        self.trail.append(bpmn_id)

    def close(self) -> None:
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
    """A write transaction holding the case row (found from the task when only the task is known).

    With `due_by`: the running case (this one, or the earliest due) whose timer is due before `due_by`, claimed
    with SKIP LOCKED on PostgreSQL so concurrent workers take different cases; NothingDue when there is none."""
    session = engine.db.write_session()
    try:
        with session.begin():
            # The case's supervision row and whether it has clocks come with it (the step's hooks read them).
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
             statuses: tuple[str, ...] = ("running",), task_id: str | None = None,
             load_flow: bool = True, due_by: datetime | None = None) -> Case:  # fmt: skip
    """Apply `apply` to the case inside one transaction and record one audit event for it.

    `due_by` claims the case (or the earliest due case when `case_id` is None) only if its timer is due before
    then; NothingDue otherwise (the scheduler's claim)."""
    try:
        with workflow.clock_context(engine.now), locked_case(engine, case_id, task_id, due_by) as (session, case):
            return step_on(engine, session, case, actor, action, apply, statuses=statuses, task_id=task_id,
                           load_flow=load_flow)  # fmt: skip
    except StepFailed as failed:
        raise record_failure(engine, actor, failed) from None


def step_on(engine, session: Session, case: Case, actor: str, action: str,
            apply: Callable[[StepContext], dict | None], *, statuses: tuple[str, ...] = ("running",),
            task_id: str | None = None, load_flow: bool = True, prefetched: dict | None = None) -> Case:  # fmt: skip
    """One case step on a case row the caller holds locked in `session`'s open transaction (the caller commits).

    `prefetched`: rows of this case the caller read for several cases at once ("open_tasks": the open task rows;
    "effects": area key → a function of the StepContext making that area's step state). A failing script raises
    StepFailed: the caller rolls its transaction back, then `record_failure` marks the case `error`."""
    ctx = None
    try:
        if case.status not in statuses:
            raise CaseNotRunning(
                f"case {case.receipt_no} is {case.status}; this action needs it {' or '.join(statuses)}"
            )
        flow = None
        if load_flow:
            bundle = engine.bundle(session, case.process_version_id)
            flow = workflow.CaseWorkflow.load(bundle, case.state, case.serializer_version, engine.script_engine())
        ctx = StepContext(engine, session, case, flow, actor, engine.now())
        if prefetched:
            ctx._open_tasks = prefetched.get("open_tasks")
            for key, make in prefetched.get("effects", {}).items():
                ctx.effects[key] = make(ctx)
        payload = apply(ctx) or {}
        bpmn_id = payload.pop("_bpmn_id", None)
        if flow is not None:
            save(ctx)
            payload = {**payload, "completed": ctx.trail, "active": flow.active_elements()}
        case.updated_at = ctx.now
        event = audit.append(session, case, ctx.now, actor, action, payload, task_id=task_id, bpmn_id=bpmn_id)
        after_event(engine, session, case, event, ctx)
        return case
    except workflow.ScriptFailure as failure:
        raise StepFailed(case.id, failure) from None
    finally:
        if ctx is not None:
            ctx.close()


def after_event(engine, session: Session, case: Case, event, step: StepContext | None = None) -> None:
    """Run the engine's event hooks on the audit event a step just appended, in the step's transaction (e.g. the
    supervision projection and the procedure rules, 电子监察). `step` is None outside a case step (mark_error)."""
    for hook in getattr(engine, "event_hooks", ()):
        hook(engine, session, case, event, step)


def save(ctx: StepContext) -> None:
    """Write the workflow state, status, data snapshot, next timer and the task projection."""
    for hook in getattr(ctx.engine, "before_save_hooks", ()):
        hook(ctx)  # e.g. stage clocks follow the active elements; moved limits re-arm the timers
    case, flow = ctx.case, ctx.flow
    case.data = json_plain(flow.share_data())  # before the dump: the shared data is part of the state
    case.state, case.serializer_version = flow.dump()
    case.next_timer_at = flow.next_timer_due()
    if flow.completed and case.status == "running":
        case.status = "completed"
        case.completed_at = ctx.now
    sync_tasks(ctx)
    for hook in getattr(ctx.engine, "after_save_hooks", ()):
        hook(ctx)
    ctx.close()  # diagram helpers called after this are outside the step


def json_plain(data: dict) -> dict:
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def sync_tasks(ctx: StepContext) -> None:
    """Bring the human-task rows in line with the workflow's ready user tasks."""
    ready = {t.id: t for t in ctx.flow.user_tasks()} if ctx.case.status == "running" else {}
    rows = ctx.open_tasks()
    open_ids = set()
    for row in rows:
        if row.id in ready:
            open_ids.add(row.id)
            continue
        done = ctx.completed_task is not None and ctx.completed_task[0] == row.id
        row.state = "completed" if done else "cancelled"
        row.completed_at = ctx.now
        row.completed_by = ctx.completed_task[1] if done else None
    elements = ctx.flow.bundle.elements
    for task_id, task in ready.items():
        if task_id not in open_ids:
            _open_task(ctx, task, elements.get(task.bpmn_id, {}))
    _follow_stage_dues(ctx, ready, elements)
    inbox_projection.follow(ctx.case, ctx.open_tasks())  # item, applicant, sole group: what the inbox reads


def _follow_stage_dues(ctx: StepContext, ready: dict, elements: dict) -> None:
    """A user task without a dueDate of its own is due when the stage it runs is (its `stage` clock, which
    moves with clock stops and extensions): keep the inbox's due dates and colours in step with it."""
    stage_due = getattr(ctx.engine, "task_due", None)
    if stage_due is None:
        return
    for row in ctx.open_tasks():
        task = ready.get(row.id)
        if task is None or row.state != "open" or (elements.get(row.bpmn_id) or {}).get("due_date"):
            continue
        due = stage_due(ctx, row.bpmn_id, task.data)
        if due is not None and due != row.due_at:
            row.due_at = due


def _open_task(ctx: StepContext, task: workflow.UserTaskView, facts: dict) -> None:
    groups = [_resolve(ctx, g, task) for g in facts.get("candidate_groups") or []]
    users = [_resolve(ctx, u, task) for u in facts.get("candidate_users") or []]
    assignee = _resolve(ctx, facts["assignee"], task) if facts.get("assignee") else None
    due_at = _evaluate_due(ctx, facts["due_date"], task) if facts.get("due_date") else None
    row = HumanTask(
        id=task.id, case_id=ctx.case.id, bpmn_id=task.bpmn_id, name=task.name or facts.get("name"),
        lane=facts.get("lane"), candidate_groups=groups, candidate_users=users, assignee=assignee or None,
        state="open", form_key=facts.get("form_key"), created_at=ctx.now, due_at=due_at,
    )  # fmt: skip
    ctx.session.add(row)
    ctx.open_tasks().append(row)
    # The unit of work inserts the task before its candidates (it orders inserts by foreign key).
    ctx.session.add_all(
        TaskCandidate(task_id=task.id, kind=kind, name=name)
        for kind, names in (("group", groups), ("user", users))
        for name in dict.fromkeys(names)
    )


def _resolve(ctx: StepContext, template: str, task: workflow.UserTaskView) -> str:
    """Fill ${expression} placeholders (e.g. reviewer@${department}) from the task's data."""

    def value(match: re.Match) -> str:
        try:
            return str(ctx.engine.sandbox().evaluate(match.group(1), dict(task.data)))
        except Exception as exc:  # noqa: BLE001 - any failure of a diagram expression stops the case
            raise workflow.ScriptFailure(task.bpmn_id, f"'{template}': {type(exc).__name__}: {exc}") from None

    return _PLACEHOLDER.sub(value, template)


def _evaluate_due(ctx: StepContext, expression: str, task: workflow.UserTaskView) -> datetime:
    try:
        value = ctx.engine.sandbox().evaluate(expression, dict(task.data))
        due = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(due, datetime) or due.tzinfo is None:
            raise ValueError(f"must give a timezone-aware ISO datetime, got {value!r}")
        return due
    except Exception as exc:  # noqa: BLE001
        raise workflow.ScriptFailure(task.bpmn_id, f"dueDate '{expression}': {type(exc).__name__}: {exc}") from None


def mark_error(engine, case_id: str, actor: str, failure: workflow.ScriptFailure) -> None:
    """Record where and why the case stopped, in a transaction of its own."""
    with locked_case(engine, case_id) as (session, case):
        now = engine.now()
        case.status = "error"
        case.error_element = failure.element_id
        case.error_message = failure.message
        case.updated_at = now
        event = audit.append(
            session, case, now, actor, "case_error",
            {"element": failure.element_id, "message": failure.message}, bpmn_id=failure.element_id,
        )  # fmt: skip
        after_event(engine, session, case, event)
