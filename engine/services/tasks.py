"""Task service: inbox queries, claim, unclaim, delegate and complete human tasks."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import and_, bindparam, exists, false, or_, select

from engine import workflow
from engine.case_json import (
    check_json_object,
    task_json,  # noqa: F401  (importable here, as before)
)
from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.local_time import SECONDS, shown_with_offset
from engine.services import inbox as inbox_query
from engine.step import StepContext, run_step
from engine.store import HumanTask, TaskCandidate


def _actor_of(user, actor):
    """(user name, Actor or None): the actions take a user name, or an Actor in its place or as `actor=`."""
    if actor is None and hasattr(user, "covers") and hasattr(user, "groups"):
        user, actor = None, user
    if user is not None and not isinstance(user, str) and hasattr(user, "username"):
        user = user.username  # a User (the identity service's) in place of its name
    if actor is not None:
        if user is not None and user != actor.username:
            raise Forbidden(f"{user} cannot act as {actor.username}")
        return actor.username, actor
    return user, None


def _when(t: HumanTask) -> str:
    return shown_with_offset(t.completed_at, SECONDS) if t.completed_at else "an unknown time"


@functools.cache
def _query_shape(by_state: bool, by_case: bool, by_user: bool, by_groups: bool, any_group: bool):
    """The task query for one combination of filters, built once (the values are bound at execution)."""
    query = select(HumanTask)
    if by_state:
        query = query.where(HumanTask.state == bindparam("state"))
    if by_case:
        query = query.where(HumanTask.case_id == bindparam("case_id"))
    if by_user or by_groups:
        offers = []
        if by_user:
            offers.append(and_(TaskCandidate.kind == "user", TaskCandidate.name == bindparam("user")))
        if any_group:
            named = TaskCandidate.name.in_(bindparam("groups", expanding=True))
            offers.append(and_(TaskCandidate.kind == "group", named))
        conditions = [HumanTask.assignee == bindparam("user")] if by_user else []
        if offers:
            offered = exists().where(TaskCandidate.task_id == HumanTask.id, or_(*offers))
            conditions.append(and_(HumanTask.assignee.is_(None), offered))
        query = query.where(or_(*conditions)) if conditions else query.where(false())
    query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
    return query.limit(bindparam("limit")).offset(bindparam("offset"))


class TaskService:
    def __init__(self, engine):
        self.engine = engine

    # -- queries
    def query(self, *, user: str | None = None, groups: Iterable[str] | None = None, case_id: str | None = None,
              state: str | None = "open", limit: int = 100, offset: int = 0) -> list[HumanTask]:  # fmt: skip
        """Tasks assigned to `user`, plus unassigned ones offered to the user or one of `groups`."""
        groups = list(groups) if groups is not None else None
        query = _query_shape(bool(state), bool(case_id), user is not None, groups is not None, bool(groups))
        params = {"state": state, "case_id": case_id, "user": user, "groups": groups, "limit": limit, "offset": offset}
        with self.engine.db.lookup_session() as session:
            return list(session.scalars(query, params).all())

    def get(self, task_id: str) -> HumanTask:
        with self.engine.db.lookup_session() as session:
            task = session.get(HumanTask, task_id)
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        return task

    def of_case(self, case_id: str) -> list[HumanTask]:
        """Every task of a case, whatever its state, oldest first."""
        query = select(HumanTask).where(HumanTask.case_id == case_id).order_by(HumanTask.created_at)
        with self.engine.db.lookup_session() as session:
            return list(session.scalars(query))

    def open_task_seen_by(self, actor, case_ids: Iterable[str]) -> dict[str, str]:
        """case id → the id of its oldest open task the actor may see (cases with none are left out)."""
        case_ids = sorted(set(case_ids))
        if not case_ids:
            return {}
        query = select(HumanTask).where(HumanTask.case_id.in_(case_ids), HumanTask.state == "open")
        with self.engine.db.lookup_session() as session:
            tasks = session.scalars(query.order_by(HumanTask.created_at)).all()
        found: dict[str, str] = {}
        for task in tasks:
            if task.case_id not in found and inbox_query.may_see(actor, task):
                found[task.case_id] = task.id
        return found

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

    def inbox(self, actor, filters=None, sort: str = "due", page: int = 1, per_page: int = 20):
        """(rows, total, counts_by_colour): the actor's own tasks and their groups' unclaimed ones (see
        engine.services.inbox for filters item / stage / department / text / assignee / colour and sorts)."""
        return inbox_query.inbox(self.engine, actor, filters, sort, page, per_page)

    def get_for(self, actor, task_id: str) -> HumanTask:
        """The task when the actor may see it; NotFound otherwise (another department's task does not exist
        for them)."""
        task = self.get(task_id)
        if not inbox_query.may_see(actor, task):
            raise NotFound(f"task {task_id} does not exist")
        return task

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

    @staticmethod
    def _authorise(row: HumanTask, actor) -> str | None:
        """For an Actor: refuse a task neither theirs nor offered to them (403); a claim by someone they do not
        cover is a conflict (409). Returns the covered colleague they act for ("B for A"), else None."""
        if row is None:
            return None
        people = {actor.username, *actor.covers}
        offered = bool(set(row.candidate_users or ()) & people or set(row.candidate_groups or ()) & set(actor.groups))
        if row.assignee not in people and not offered:
            raise Forbidden(f"task {row.id} is not offered to {actor.username}")
        TaskService._check_open(row)
        if row.assignee is not None and row.assignee not in people:
            raise Conflict(f"task {row.id} is already claimed by {row.assignee}")
        return inbox_query.on_behalf_of(actor, row)

    def _on_task(self, task_id: str, user: str, action: str, change, load_flow: bool = False,
                 actor=None, with_case: bool = False):  # fmt: skip
        changed: list[HumanTask] = []
        steps: list[StepContext] = []

        def apply(ctx: StepContext):
            row = ctx.open_task(task_id)
            behalf = self._authorise(row, actor) if actor is not None else None
            self._check_open(row)
            result = change(ctx, row) or {}
            changed.append(row)
            steps.append(ctx)
            if behalf:
                result = {**result, "on_behalf_of": behalf}
            return {"_bpmn_id": row.bpmn_id, **result}

        case = run_step(self.engine, None, user, action, apply, task_id=task_id, load_flow=load_flow)
        if with_case:
            return changed[0], self.engine.runtime.case_json(case, steps[0].open_tasks())
        return changed[0]

    def _check_form(self, row: HumanTask, data: dict) -> None:
        """Validate the submitted data against the task's form (422 listing each field) when the form exists."""
        forms = getattr(self.engine, "forms", None)
        if row.form_key and forms is not None and forms.exists(row.form_key):
            forms.check(row.form_key, data)

    # -- actions
    def claim(self, task_id: str, user=None, groups: Iterable[str] | None = None, *, actor=None) -> HumanTask:
        """Take the task. With an Actor, a backup may take over a covered colleague's task ("B for A")."""
        user, actor = _actor_of(user, actor)

        def change(ctx, row):
            if actor is not None:
                row.assignee = user
                return None
            if row.assignee and row.assignee != user:
                raise Conflict(f"task {task_id} is already claimed by {row.assignee}")
            self._check_offered(row, user, groups)
            row.assignee = user

        return self._on_task(task_id, user, "task_claimed", change, actor=actor)

    def unclaim(self, task_id: str, user=None, *, actor=None) -> HumanTask:
        """Give the task back to its groups."""
        user, actor = _actor_of(user, actor)
        mine = {user, *(actor.covers if actor is not None else ())}

        def change(ctx, row):
            if row.assignee not in mine:
                raise Forbidden(f"task {task_id} is not claimed by {user}")
            row.assignee = None

        return self._on_task(task_id, user, "task_unclaimed", change, actor=actor)

    def delegate(self, task_id: str, user=None, to_user: str | None = None, groups: Iterable[str] | None = None,
                 *, actor=None) -> HumanTask:  # fmt: skip
        """Hand the task to someone; with an Actor only to a colleague of the same department who is present."""
        user, actor = _actor_of(user, actor)
        if not to_user or not isinstance(to_user, str):
            raise InvalidData("name the colleague to delegate to", [("to", "required")])
        if actor is not None:
            self._check_colleague(actor, to_user)

        def change(ctx, row):
            if actor is None:
                if row.assignee and row.assignee != user:
                    raise Conflict(f"task {task_id} is claimed by {row.assignee}")
                self._check_offered(row, user, groups)
            row.assignee = to_user
            return {"to": to_user}

        return self._on_task(task_id, user, "task_delegated", change, actor=actor)

    def _check_colleague(self, actor, to_user: str) -> None:
        if to_user == actor.username:
            raise InvalidData("a task cannot be delegated to oneself", [("to", "self")])
        identity = self.engine.identity
        if to_user not in {u.username for u in identity.colleagues(actor.username)}:
            raise InvalidData(f"{to_user} is not a colleague of {actor.username} in department "
                              f"{actor.user.department}", [("to", "not a colleague")])  # fmt: skip
        away = identity.absence(to_user)
        if away is not None:
            backup, until = away
            when = f" until {shown_with_offset(until)}" if until else ""
            raise InvalidData(f"{to_user} is absent{when}; {backup} covers for them", [("to", "absent")])

    def complete(self, task_id: str, user=None, data: dict | None = None,
                 groups: Iterable[str] | None = None, *, actor=None, with_case: bool = False):  # fmt: skip
        """Complete a task with the submitted form data; the case then runs on to its next wait. With an Actor
        the data is validated against the task's form (422) and the opinion is recorded in the audit event.
        Returns the task row; with `with_case`, (the task row, the case as `runtime.describe` gives it after
        the step)."""
        user, actor = _actor_of(user, actor)
        data = check_json_object(data)

        def change(ctx: StepContext, row: HumanTask):
            if actor is not None:
                self._check_form(row, data)
            else:
                if row.assignee and row.assignee != user:
                    raise Conflict(f"task {task_id} is claimed by {row.assignee}")
                self._check_offered(row, user, groups)
            try:
                ctx.flow.complete(task_id, data, ctx.record)
            except workflow.TaskNotReady:
                raise Conflict(f"task {task_id} is no longer ready") from None
            ctx.completed_task = (task_id, user)
            return {"data": data, "opinion": data.get("opinion")} if actor is not None else {"data": data}

        return self._on_task(task_id, user, "task_completed", change, load_flow=True, actor=actor, with_case=with_case)
