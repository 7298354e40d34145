"""Task service: inbox queries, claim, unclaim, delegate and complete human tasks."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, exists, or_, select

from engine import workflow
from engine.errors import Conflict, Forbidden, NotFound
from engine.services.casework import StepContext, run_step
from engine.services.runtime import check_json_object
from engine.store import HumanTask, TaskCandidate


def task_json(t: HumanTask) -> dict:
    return {
        "id": t.id, "case_id": t.case_id, "bpmn_id": t.bpmn_id, "name": t.name, "lane": t.lane,
        "candidate_groups": list(t.candidate_groups or []), "assignee": t.assignee, "state": t.state,
        "form_key": t.form_key, "due_at": t.due_at.isoformat() if t.due_at else None,
    }  # fmt: skip


def _when(t: HumanTask) -> str:
    return t.completed_at.isoformat(timespec="seconds") if t.completed_at else "an unknown time"


class TaskService:
    def __init__(self, engine):
        self.engine = engine

    # -- queries
    def query(self, *, user: str | None = None, groups: Iterable[str] | None = None, case_id: str | None = None,
              state: str | None = "open", limit: int = 100, offset: int = 0) -> list[HumanTask]:  # fmt: skip
        """Tasks assigned to `user`, plus unassigned ones offered to the user or one of `groups`."""
        query = select(HumanTask)
        if state:
            query = query.where(HumanTask.state == state)
        if case_id:
            query = query.where(HumanTask.case_id == case_id)
        if user is not None or groups is not None:
            offers = []
            if user is not None:
                offers.append(and_(TaskCandidate.kind == "user", TaskCandidate.name == user))
            if groups:
                offers.append(and_(TaskCandidate.kind == "group", TaskCandidate.name.in_(list(groups))))
            offered = exists().where(TaskCandidate.task_id == HumanTask.id, or_(*offers)) if offers else None
            mine = HumanTask.assignee == user if user is not None else None
            conditions = [c for c in (mine,) if c is not None]
            if offered is not None:
                conditions.append(and_(HumanTask.assignee.is_(None), offered))
            query = query.where(or_(*conditions))
        query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
        with self.engine.db.session() as session:
            return list(session.scalars(query.limit(limit).offset(offset)).all())

    def get(self, task_id: str) -> HumanTask:
        with self.engine.db.session() as session:
            task = session.get(HumanTask, task_id)
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        return task

    def resolve(self, ref: str) -> str:
        """A task id from the full id or an unambiguous prefix of at least 6 characters (for the CLI)."""
        with self.engine.db.session() as session:
            if session.get(HumanTask, ref) is not None:
                return ref
            if len(ref) >= 6:
                ids = session.scalars(select(HumanTask.id).where(HumanTask.id.startswith(ref)).limit(2)).all()
                if len(ids) == 1:
                    return ids[0]
                if ids:
                    raise NotFound(f"task id prefix {ref} is ambiguous; give more characters")
        raise NotFound(f"task {ref} does not exist")

    # -- rules
    @staticmethod
    def _check_open(task: HumanTask) -> None:
        if task.state == "completed":
            raise Conflict(f"task {task.id} is already completed by {task.completed_by} at {_when(task)}")
        if task.state != "open":
            raise Conflict(f"task {task.id} is {task.state} (its case moved on at {_when(task)})")

    @staticmethod
    def _check_offered(task: HumanTask, user: str, groups: Iterable[str] | None) -> None:
        """`groups` None means a trusted caller (the operator's CLI); the web passes the user's groups."""
        if groups is None or task.assignee == user:
            return
        if user in (task.candidate_users or []) or set(groups) & set(task.candidate_groups or []):
            return
        raise Forbidden(f"task {task.id} is not offered to {user}")

    def _on_task(self, task_id: str, user: str, action: str, change, load_flow: bool = False) -> HumanTask:
        changed: list[HumanTask] = []

        def apply(ctx: StepContext):
            row = ctx.open_task(task_id)
            self._check_open(row)
            result = change(ctx, row) or {}
            changed.append(row)
            return {"_bpmn_id": row.bpmn_id, **result}

        run_step(self.engine, None, user, action, apply, task_id=task_id, load_flow=load_flow)
        return changed[0]

    # -- actions
    def claim(self, task_id: str, user: str, groups: Iterable[str] | None = None) -> HumanTask:
        def change(ctx, row):
            if row.assignee and row.assignee != user:
                raise Conflict(f"task {task_id} is already claimed by {row.assignee}")
            self._check_offered(row, user, groups)
            row.assignee = user

        return self._on_task(task_id, user, "task_claimed", change)

    def unclaim(self, task_id: str, user: str) -> HumanTask:
        def change(ctx, row):
            if row.assignee != user:
                raise Forbidden(f"task {task_id} is not claimed by {user}")
            row.assignee = None

        return self._on_task(task_id, user, "task_unclaimed", change)

    def delegate(self, task_id: str, user: str, to_user: str, groups: Iterable[str] | None = None) -> HumanTask:
        def change(ctx, row):
            if row.assignee and row.assignee != user:
                raise Conflict(f"task {task_id} is claimed by {row.assignee}")
            self._check_offered(row, user, groups)
            row.assignee = to_user
            return {"to": to_user}

        return self._on_task(task_id, user, "task_delegated", change)

    def complete(self, task_id: str, user: str, data: dict | None = None,
                 groups: Iterable[str] | None = None) -> HumanTask:  # fmt: skip
        """Complete a task with the submitted form data; the case then runs on to its next wait."""
        data = check_json_object(data)

        def change(ctx: StepContext, row: HumanTask):
            if row.assignee and row.assignee != user:
                raise Conflict(f"task {task_id} is claimed by {row.assignee}")
            self._check_offered(row, user, groups)
            try:
                ctx.flow.complete(task_id, data, ctx.record)
            except workflow.TaskNotReady:
                raise Conflict(f"task {task_id} is no longer ready") from None
            ctx.completed_task = (task_id, user)
            return {"data": data}

        return self._on_task(task_id, user, "task_completed", change, load_flow=True)
