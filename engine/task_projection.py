"""The tasks phase of the case step: the human-task rows follow the workflow's ready user tasks.

A ready user task gets a row (with its candidates, assignee and due date, ${expression} placeholders filled from
the task's data); a row whose task is no longer ready is completed (the task the step completed) or cancelled. A
user task without a dueDate of its own is due by the clock of the stage it runs (`due_by_stage`, the time-limits
area's rule): the row keeps that clock's due, warning and statutory due instants, which every reader colours by
(engine/colour.py). The inbox columns follow the case (engine/inbox_projection.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine import deadlines, expressions, inbox_projection, workflow
from engine.calendar import WorkdayCalendar
from engine.colour import ColourPolicy
from engine.deadlines import DueInstants
from engine.store import HumanTask, TaskCandidate

if TYPE_CHECKING:
    from engine.step import StepContext

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class TaskProjection:
    """The tasks phase; `due_by_stage(ctx, bpmn_id, task data)`: the instants of the clock a user task without its
    own dueDate is due by (None: not by a stage)."""

    def __init__(self, due_by_stage: Callable[..., DueInstants | None] | None = None):
        self.due_by_stage = due_by_stage

    def __call__(self, ctx: StepContext) -> None:
        """Bring the human-task rows in line with the workflow's ready user tasks."""
        ready = {t.id: t for t in ctx.flow.user_tasks()} if ctx.case.status == "running" else {}
        open_ids = set()
        for row in ctx.open_tasks():
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
        if self.due_by_stage is not None:
            self._follow_stage_dues(ctx, ready, elements)
        inbox_projection.follow(ctx.case, ctx.open_tasks())  # item, applicant, sole group: what the inbox reads

    def _follow_stage_dues(self, ctx: StepContext, ready: dict, elements: dict) -> None:
        """Keep the instants (and so the colours) of tasks due with their stage in step with the stage's clock,
        which moves with clock stops and extensions."""
        for row in ctx.open_tasks():
            task = ready.get(row.id)
            if task is None or row.state != "open" or (elements.get(row.bpmn_id) or {}).get("due_date"):
                continue
            due = self.due_by_stage(ctx, row.bpmn_id, task.data)
            if due is not None and due != _kept(row):
                row.due_at, row.warn_at, row.statutory_due_at, row.stopped_at, row.stopped_colour = due


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
            return str(ctx.engine.sandbox().evaluate(expressions.inner_to_python(match.group(1)), dict(task.data)))
        except Exception as exc:  # noqa: BLE001 - any failure of a diagram expression stops the case
            raise workflow.ScriptFailure(task.bpmn_id, f"'{template}': {type(exc).__name__}: {exc}") from None

    return _PLACEHOLDER.sub(value, template)


def _evaluate_due(ctx: StepContext, expression: str, task: workflow.UserTaskView) -> datetime:
    try:
        value = ctx.engine.sandbox().evaluate(expressions.python_of(expression), dict(task.data))
        due = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(due, datetime) or due.tzinfo is None:
            raise ValueError(f"must give a timezone-aware ISO datetime, got {value!r}")
        return due
    except Exception as exc:  # noqa: BLE001
        raise workflow.ScriptFailure(task.bpmn_id, f"dueDate '{expression}': {type(exc).__name__}: {exc}") from None


def backfill_instants(session, cal: WorkdayCalendar, now: datetime, policy: ColourPolicy) -> int:
    """Give the open task rows kept before their warning and statutory due instants were (revision 0009) the
    instants of the clock they are due by, as the tasks phase would at their case's next step: a row whose due
    instant is the promised due of its stage clock (`deadlines.task_clock`, read from the stored clocks) gets that
    clock's instants; a row due by a dueDate of its own (another instant) or with no such clock is left as it is.
    Returns the number of rows filled."""
    rows = session.scalars(select(HumanTask).where(HumanTask.state == "open", HumanTask.due_at.is_not(None),
                                                   HumanTask.warn_at.is_(None),
                                                   HumanTask.statutory_due_at.is_(None))).all()  # fmt: skip
    stored = deadlines.stored_clocks(session, sorted({row.case_id for row in rows}))
    filled = 0
    for row in rows:
        clocks, stops = stored[row.case_id]
        clock = deadlines.task_clock(clocks, row.bpmn_id)
        due = None if clock is None else deadlines.task_instants(cal, clock, stops, now, policy)
        if due is not None and due.due == row.due_at and (due.warn, due.statutory) != (None, None):
            row.warn_at, row.statutory_due_at, row.stopped_at, row.stopped_colour = due[1:]
            filled += 1
    return filled


def _kept(row: HumanTask) -> DueInstants:
    """The instants a task row keeps of its clock."""
    return DueInstants(row.due_at, row.warn_at, row.statutory_due_at, row.stopped_at, row.stopped_colour)
