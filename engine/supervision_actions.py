"""Supervisor actions on a case (监察干预): suspend, resume, terminate, reassign a task, retry a case in error.

Each needs the supervisor role, the case inside the supervisor's scope and a written reason; each is one
case step, so it is audited in the case's hash chain with the reason and the supervisor's name.
"""

from __future__ import annotations

from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.step import StepContext, run_step
from engine.store import Case, HumanTask
from engine.supervision import ACTION_ROLES, Scope, get_case, scope_of


def _authorised(engine, user, case_ref: str) -> tuple[Scope, str]:
    if not set(getattr(user, "roles", ()) or ()) & ACTION_ROLES:
        raise Forbidden(f"{user.username} may not intervene in cases: that needs the supervisor role")
    scope = scope_of(engine, user)
    return scope, get_case(engine, scope, case_ref).case_id


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidData("a reason is required for a supervisor action (监察干预须说明理由)", [("reason", "required")])
    return text


def suspend(engine, user, case_ref: str, reason: str) -> Case:
    """Suspend a running case; the reason is recorded in its audit trail."""
    reason = _reason(reason)
    _, case_id = _authorised(engine, user, case_ref)
    return engine.runtime.suspend(case_id, actor=user.username, reason=reason)


def resume(engine, user, case_ref: str, reason: str) -> Case:
    """Resume a suspended case."""
    reason = _reason(reason)
    _, case_id = _authorised(engine, user, case_ref)
    return engine.runtime.resume(case_id, actor=user.username, reason=reason)


def terminate(engine, user, case_ref: str, reason: str) -> Case:
    """Terminate a case (running, suspended or in error); its open tasks are cancelled."""
    reason = _reason(reason)
    _, case_id = _authorised(engine, user, case_ref)
    return engine.runtime.terminate(case_id, actor=user.username, reason=reason)


def retry(engine, user, case_ref: str, reason: str) -> Case:
    """Put a case in `error` back to running and run its engine steps and due timers again."""
    reason = _reason(reason)
    _, case_id = _authorised(engine, user, case_ref)

    def apply(ctx: StepContext):
        previous = {"element": ctx.case.error_element, "message": ctx.case.error_message}
        ctx.case.status = "running"
        ctx.case.error_element = ctx.case.error_message = None
        ctx.flow.fire_due_timers(ctx.record)
        return {"previous_error": previous, "reason": reason}

    return run_step(engine, case_id, user.username, "case_retried", apply, statuses=("error",))


def reassign(engine, user, task_id: str, to_user: str, reason: str) -> HumanTask:
    """Give an open task to another officer (e.g. the assignee is absent and the case is late)."""
    reason = _reason(reason)
    to_user = (to_user or "").strip()
    if not to_user:
        raise InvalidData("the officer to reassign the task to is required", [("to_user", "required")])
    with engine.db.session() as session:
        task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    scope, case_id = _authorised(engine, user, task.case_id)
    target = engine.identity.get_user(to_user)  # NotFound for an unknown officer
    if not scope.allows(target.department):
        raise Forbidden(f"{to_user} works outside your supervision scope")
    changed: list[HumanTask] = []

    def apply(ctx: StepContext):
        row = ctx.open_task(task_id)
        if row is None or row.state != "open":
            raise Conflict(f"task {task_id} is no longer open")
        previous, row.assignee = row.assignee, to_user
        changed.append(row)
        return {"_bpmn_id": row.bpmn_id, "from": previous, "to": to_user, "reason": reason}

    run_step(engine, case_id, user.username, "task_reassigned", apply, task_id=task_id, load_flow=False,
             statuses=("running", "suspended"))  # fmt: skip
    return changed[0]
