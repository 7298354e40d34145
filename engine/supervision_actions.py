"""Supervisor actions on a case (监察干预): suspend, resume, terminate, reassign a task, retry a case in error.

Each is the permission policy's to allow (engine.policy: the supervisor role, the case inside the supervisor's
scope) and needs a written reason; each is one case step, so it is audited in the case's hash chain with the
reason and the supervisor's name.
"""

from __future__ import annotations

from dataclasses import replace

from engine import policy
from engine.errors import Conflict, InvalidData, NotFound
from engine.step import StepContext, reopen_after_error, run_step
from engine.store import Case, HumanTask
from engine.supervision import Scope, get_case


def _authorised(engine, user, case_ref: str, action: str, target: policy.Target | None = None) -> str:
    """The case id when the policy lets `user` do `action` on it; a case outside their scope does not exist."""
    who = policy.subject(engine, user)
    policy.require(who, action, target)  # the role first: a clerk is told what is missing, not "no such case"
    row = get_case(engine, Scope(who.username, who.supervised), case_ref)
    policy.require(who, action, replace(target or policy.Target(), department=row.department))
    return row.case_id


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidData("a reason is required for a supervisor action (监察干预须说明理由)", [("reason", "required")])
    return text


def suspend(engine, user, case_ref: str, reason: str) -> Case:
    """Suspend a running case; the reason is recorded in its audit trail."""
    reason = _reason(reason)
    case_id = _authorised(engine, user, case_ref, "suspend")
    return engine.runtime.suspend(case_id, actor=user.username, reason=reason)


def resume(engine, user, case_ref: str, reason: str) -> Case:
    """Resume a suspended case."""
    reason = _reason(reason)
    case_id = _authorised(engine, user, case_ref, "resume")
    return engine.runtime.resume(case_id, actor=user.username, reason=reason)


def terminate(engine, user, case_ref: str, reason: str) -> Case:
    """Terminate a case (running, suspended or in error); its open tasks are cancelled."""
    reason = _reason(reason)
    case_id = _authorised(engine, user, case_ref, "terminate")
    return engine.runtime.terminate(case_id, actor=user.username, reason=reason)


def retry(engine, user, case_ref: str, reason: str) -> Case:
    """Put a case in `error` back to running and run its engine steps and due timers again."""
    reason = _reason(reason)
    case_id = _authorised(engine, user, case_ref, "retry")

    def apply(ctx: StepContext):
        return {"previous_error": reopen_after_error(ctx), "reason": reason}

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
    target = engine.identity.get_user(to_user)  # NotFound for an unknown officer
    case_id = _authorised(engine, user, task.case_id, "reassign",
                          policy.Target(person=to_user, person_department=target.department))  # fmt: skip
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
