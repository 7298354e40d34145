"""Who may do what: one function of (user, action, target) for every action of the platform.

`decide(subject, action, target)` answers allow or deny with a reason (a message key and its parameters, so the
web, the API and the CLI each render it in their language); `require` raises the platform's error with it.
Nothing else in the engine, the web or the CLI checks a role.

The rules, in short (roles as in engine/store/identity.py; "department" is the case's or the item's):
- a task (see, claim, unclaim, delegate, complete) is for the people it is offered to, its assignee, and the
  backup of an absent one (AB岗, `identity.absences_in_force`); a task claimed by someone the actor does not
  cover is a conflict, not a permission;
- a case is seen by the administrator, the window that registered it, staff of its department or of a
  department above it, anyone a task of it is offered to, and supervisors whose scope holds its department;
- a case is started by a clerk in their own department (the administrator anywhere); an item is accepted at the
  window of its department, or at a comprehensive window (综合窗口, 一窗受理) the catalog names for it;
- supervisor actions (suspend, resume, terminate, reassign, letters, alerts) need the supervisor role and the
  department in the supervisor's scope; retry also the administrator (a script error is a technical fault);
- clock stops by the handling staff of the department, extensions by its leader or chief representative;
- the statistics and the supervision console by supervisors, leaders and administrators, within their scope;
- deploying and migrating process versions by designers and administrators;
- sending a message or signal into the platform (`correlate`: it may reach any case or start one) by administrators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from engine.errors import Conflict, Forbidden, InvalidData
from engine.identity import Actor, User

ACTIONS = (
    "see_task", "see_case", "start", "accept", "claim", "unclaim", "delegate", "complete", "suspend", "resume",
    "terminate", "reassign", "retry", "extend", "stop_clock", "resume_clock", "read_statistics", "supervise",
    "issue_letter", "act_on_alert", "deploy", "migrate", "correlate",
)  # fmt: skip
TASK_ACTIONS = frozenset({"see_task", "claim", "unclaim", "delegate", "complete"})
SUPERVISOR_ACTIONS = frozenset({"suspend", "resume", "terminate", "reassign", "retry", "issue_letter", "act_on_alert"})
HANDLING_ROLES = frozenset({"reviewer", "approver", "legal_reviewer", "officer", "appeal_officer", "leader"})
EXTENSION_ROLES = frozenset({"leader", "approver"})
VIEW_ROLES = frozenset({"supervisor", "leader", "admin"})
DESIGN_ROLES = frozenset({"designer", "admin"})
CORRELATE_ROLES = frozenset({"admin"})

# English text of each reason; the pages translate the same keys through their message catalog.
MESSAGES = {
    "allowed": "allowed",
    "unknown_action": "'{action}' is not an action of the platform",
    "task_not_offered": "task {task} is not offered to {user}",
    "task_not_claimed_by_user": "task {task} is not claimed by {user}",
    "task_claimed_by_other": "task {task} is already claimed by {assignee}",
    "case_out_of_reach": "case {case} is outside the reach of {user}",
    "needs_role": "{user} may not {action}: that needs the {roles} role",
    "not_supervisor": "{user} is not a supervisor: {action} needs the supervisor, leader or admin role",
    "department_out_of_scope": "department {department} is outside the scope of {user}",
    "not_window_for_item": "{user} is not a window for item {item} (its department {department})",
    "person_out_of_scope": "{person} works outside the supervision scope of {user}",
}


@dataclass(frozen=True)
class Decision:
    """Allow or deny, with the reason as a message key and its parameters. `conflict` marks a refusal that
    comes from the state of the target (someone else holds the task) rather than from the user's rights;
    `on_behalf_of` names the absent colleague a backup acts for."""

    allowed: bool
    key: str = "allowed"
    params: dict = field(default_factory=dict)
    conflict: bool = False
    on_behalf_of: str | None = None

    def __bool__(self) -> bool:
        return self.allowed

    def message(self) -> str:
        """The reason as one English line (the CLI and the API)."""
        return MESSAGES[self.key].format(**self.params)


@dataclass(frozen=True)
class Subject:
    """Who asks: identity's Actor (own and covered groups, covered colleagues) and the department scopes the
    rules read, each looked up only when a rule needs it."""

    actor: object
    department_tree: Callable[[str], Iterable[str]] | None = None  # identity.department_scope
    supervision_tree: Callable[[str], Iterable[str]] | None = None  # identity.supervision_scope
    # An engine-internal caller acting in a user's name (seeding, imports, tests of a diagram): every task is
    # offered to it, but a task someone else claimed stays theirs. Never built from a person's request.
    trusted: bool = False

    @property
    def username(self) -> str:
        return self.actor.username

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.actor.user.roles)

    @property
    def department(self) -> str:
        return self.actor.user.department

    @cached_property
    def departments(self) -> frozenset[str]:
        """The user's department and every department below it."""
        tree = self.department_tree
        return frozenset(tree(self.department)) if tree else frozenset({self.department})

    @cached_property
    def supervised(self) -> frozenset[str] | None:
        """The departments a supervisor, leader or administrator watches; None means all (the administrator)."""
        if "admin" in self.roles:
            return None
        tree = self.supervision_tree or self.department_tree
        return frozenset(tree(self.department)) if tree else frozenset({self.department})

    def watches(self, department: str | None) -> bool:
        scope = self.supervised
        return scope is None or (department is not None and department in scope)


@dataclass(frozen=True)
class Target:
    """What is acted on. `department` is the case's (or the item's); `task` a task row (assignee, offers,
    completer); `tasks` the case's task rows (whether one is within reach); `windows` the departments whose
    comprehensive window accepts the item; `person_department` the department of a person the action hands
    work to (reassign)."""

    department: str | None = None
    case: str | None = None
    started_by: str | None = None
    task: object | None = None
    tasks: tuple = ()
    item: str | None = None
    windows: tuple[str, ...] = ()
    person: str | None = None
    person_department: str | None = None


@dataclass(frozen=True)
class Override:
    """An operator's explicit override of the policy (the CLI's `--override --reason`): the action is done
    without asking `decide`, and its audit event records this."""

    reason: str
    operator: str

    def __post_init__(self):
        if not (self.reason or "").strip():
            raise InvalidData("an override needs a reason (--reason)", [("reason", "required")])

    def as_json(self) -> dict:
        return {"reason": self.reason.strip(), "operator": self.operator}


def case_target(case, tasks=()) -> Target:
    """A case row as the policy sees it: its department, receipt number, who registered it, its task rows."""
    data = case.data or {}
    return Target(department=data.get("department"), case=case.receipt_no, started_by=case.started_by,
                  tasks=tuple(tasks))  # fmt: skip


def override_payload(override: Override | None) -> dict:
    """What an audit event's payload says of an operator's override (nothing without one)."""
    return {"override": override.as_json()} if override is not None else {}


def named(username: str, groups: Iterable[str] = (), *, trusted: bool = False) -> Subject:
    """A Subject for a user name with the groups the caller vouches for (no department tree, no covers)."""
    groups = tuple(groups)
    user = User(username, None, "", (), groups)
    return Subject(Actor(user, groups), trusted=trusted)


def of_user(user) -> Subject:
    """A Subject from identity's User alone (own groups, no covers, no department tree): enough for the
    questions a page asks of every user, such as which areas of the site to offer them."""
    return Subject(Actor(user, tuple(user.groups)))


def subject(engine, who) -> Subject:
    """The Subject of an Actor, of identity's User or of a user name, with the engine's department tree."""
    actor = who
    if not hasattr(who, "covers"):
        actor = engine.identity.actor(who if isinstance(who, str) else who.username)
    identity = engine.identity
    return Subject(actor, identity.department_scope, identity.supervision_scope)


def _allow(on_behalf_of: str | None = None) -> Decision:
    return Decision(True, on_behalf_of=on_behalf_of)


def _deny(key: str, conflict: bool = False, **params) -> Decision:
    return Decision(False, key, params, conflict)


def _needs(s: Subject, action: str, roles: frozenset[str]) -> Decision | None:
    if s.roles & roles:
        return None
    return _deny("needs_role", user=s.username, action=action.replace("_", " "), roles=" or ".join(sorted(roles)))


def on_behalf_of(actor, task) -> str | None:
    """The covered colleague a task is there for when the actor acts on it as a backup, else None."""
    me = actor.username
    if task.assignee == me:
        return None
    if task.assignee in actor.covers:
        return task.assignee
    if task.assignee is not None:
        return None
    users = set(task.candidate_users or ())
    offered = set(task.candidate_groups or ())
    if me in users or offered & set(actor.user.groups):
        return None
    for name, groups in actor.cover_groups:
        if name in users or offered & set(groups):
            return name
    return None


def _reaches(actor, task) -> bool:
    """The task is the actor's, a covered colleague's, completed by one of them, or offered to them."""
    people = {actor.username, *actor.covers}
    if task.assignee in people or getattr(task, "completed_by", None) in people:
        return True
    return bool(set(task.candidate_users or ()) & people or set(task.candidate_groups or ()) & set(actor.groups))


def _on_task(s: Subject, action: str, task) -> Decision:
    actor = s.actor
    people = {actor.username, *actor.covers}
    params = {"task": task.id, "user": s.username}
    if action == "see_task":
        return _allow() if s.trusted or _reaches(actor, task) else _deny("task_not_offered", **params)
    offered = (
        s.trusted or set(task.candidate_users or ()) & people or set(task.candidate_groups or ()) & set(actor.groups)
    )
    if task.assignee not in people and not offered:
        return _deny("task_not_offered", **params)
    if task.assignee is not None and task.assignee not in people:
        return _deny("task_claimed_by_other", conflict=True, task=task.id, assignee=task.assignee)
    if action == "unclaim" and task.assignee is None:
        return _deny("task_not_claimed_by_user", **params)
    return _allow(on_behalf_of(actor, task))


@dataclass(frozen=True)
class CaseReach:
    """The cases a person sees by the case's own facts (what 办件查询 searches): those of `departments` (None:
    every department) and those `officer` registered at the window. `see_case` allows these, and besides them a
    case one of whose tasks is offered to the person (that one is in their inbox)."""

    departments: frozenset[str] | None
    officer: str

    def holds(self, department: str | None, officer: str | None) -> bool:
        if self.departments is None or (officer is not None and officer == self.officer):
            return True
        return department is not None and department in self.departments


def case_reach(s: Subject) -> CaseReach:
    """The `CaseReach` of a person: the administrator every case; others the cases of their department and the
    departments below it, of the departments they watch as a supervisor or leader, and those they registered."""
    if "admin" in s.roles:
        return CaseReach(None, s.username)
    departments = s.departments | (s.supervised or frozenset()) if s.roles & VIEW_ROLES else s.departments
    return CaseReach(frozenset(departments), s.username)


def _see_case(s: Subject, t: Target) -> Decision:
    if case_reach(s).holds(t.department, t.started_by):
        return _allow()
    if any(_reaches(s.actor, task) for task in t.tasks):
        return _allow()
    return _deny("case_out_of_reach", case=t.case or "", user=s.username)


def _in_department(s: Subject, role: str, department: str | None) -> bool:
    """The user holds `role` in that department (own groups, or an absent colleague's they cover)."""
    return department is not None and f"{role}@{department}" in s.actor.groups


def _accept(s: Subject, t: Target) -> Decision:
    if "admin" in s.roles:
        return _allow()
    refused = _needs(s, "accept", frozenset({"clerk"}))
    if refused is not None:
        return refused
    if t.department is None and not t.windows:
        return _allow()  # no item named: whether they are a window at all
    if any(_in_department(s, "clerk", d) for d in (t.department, *t.windows)):
        return _allow()
    return _deny("not_window_for_item", user=s.username, item=t.item or "", department=t.department or "")


def _start(s: Subject, t: Target) -> Decision:
    if "admin" in s.roles:
        return _allow()
    refused = _needs(s, "start", frozenset({"clerk"}))
    if refused is not None:
        return refused
    if _in_department(s, "clerk", t.department):
        return _allow()
    return _deny("department_out_of_scope", department=t.department or "", user=s.username)


def _supervisor(s: Subject, action: str, t: Target) -> Decision:
    if action == "retry" and "admin" in s.roles:
        return _allow()
    refused = _needs(s, action, frozenset({"supervisor", "admin"} if action == "retry" else {"supervisor"}))
    if refused is not None:
        return refused
    if t.department is not None and not s.watches(t.department):
        return _deny("department_out_of_scope", department=t.department, user=s.username)
    if t.person_department is not None and not s.watches(t.person_department):
        return _deny("person_out_of_scope", person=t.person or t.person_department, user=s.username)
    return _allow()


def _in_own_department(s: Subject, action: str, roles: frozenset[str], t: Target) -> Decision:
    """A role of the case's department: held there, or (a leader) in a department above it."""
    refused = _needs(s, action, roles)
    if refused is not None:
        return refused
    held = any(_in_department(s, r, t.department) for r in roles)
    if held or ("leader" in s.roles & roles and t.department in s.departments):
        return _allow()
    return _deny("department_out_of_scope", department=t.department or "", user=s.username)


def _watching(s: Subject, action: str, t: Target) -> Decision:
    if not s.roles & VIEW_ROLES:
        return _deny("not_supervisor", user=s.username, action="supervision" if action == "supervise" else
                     "reading the statistics")  # fmt: skip
    if t.department is not None and not s.watches(t.department):
        return _deny("department_out_of_scope", department=t.department, user=s.username)
    return _allow()


def decide(s: Subject, action: str, target: Target | None = None) -> Decision:
    """Whether `s` may do `action` on `target` (see the module's docstring for the rules)."""
    t = target or Target()
    if action in TASK_ACTIONS:
        if t.task is None:
            raise ValueError(f"{action} needs the task as its target")
        return _on_task(s, action, t.task)
    if action == "see_case":
        return _see_case(s, t)
    if action == "start":
        return _start(s, t)
    if action == "accept":
        return _accept(s, t)
    if action in SUPERVISOR_ACTIONS:
        return _supervisor(s, action, t)
    if action in ("stop_clock", "resume_clock"):
        return _in_own_department(s, action, HANDLING_ROLES, t)
    if action == "extend":
        return _in_own_department(s, action, EXTENSION_ROLES, t)
    if action in ("read_statistics", "supervise"):
        return _watching(s, action, t)
    if action in ("deploy", "migrate"):
        refused = _needs(s, action, DESIGN_ROLES)
        return _allow() if refused is None else refused
    if action == "correlate":  # send a message or signal into the platform: it may reach any case, or start one
        refused = _needs(s, action, CORRELATE_ROLES)
        return _allow() if refused is None else refused
    return _deny("unknown_action", action=action)


def require(s: Subject, action: str, target: Target | None = None) -> Decision:
    """`decide`, raising Forbidden (or Conflict for a task someone else holds) with the reason when denied."""
    decision = decide(s, action, target)
    if not decision.allowed:
        error = Conflict if decision.conflict else Forbidden
        raise error(decision.message(), key=decision.key, params=decision.params)
    return decision
