"""The permission policy: every action × every built-in role × own / other department × the backup of an absent
colleague (AB岗), each answer written once in the table below; then the cases the table's dimensions do not
show (the comprehensive window, a supervision office above the departments, a task a present colleague holds)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from engine import policy
from engine.errors import Conflict, Forbidden
from engine.store import HumanTask
from engine.store.identity import ROLES
from tests.conftest import ROOT

CASE_DEPARTMENT, OTHER, CENTRE = "qx-scjg", "qx-wsjk", "qx-zwfw"
ROLE_ORDER = ("clerk", "reviewer", "approver", "legal_reviewer", "officer", "appeal_officer", "supervisor",
              "designer", "admin", "leader")  # fmt: skip

# For each action, one entry per role (in ROLE_ORDER) of three answers: a user of the case's department, a user
# of another department, and the backup covering an absent colleague of the case's department. Y allow, N deny.
TABLE = {
    #                  clerk  review approv legal  officr appeal superv design admin  leader
    "see_task":       ("YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY"),
    "claim":          ("YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY"),
    "unclaim":        ("YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY"),
    "delegate":       ("YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY"),
    "complete":       ("YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY"),
    "see_case":       ("YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YNY", "YYY", "YNY"),
    "start":          ("YNY", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YYY", "NNN"),
    "accept":         ("YNY", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YYY", "NNN"),
    "suspend":        ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "NNN", "NNN"),
    "resume":         ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "NNN", "NNN"),
    "terminate":      ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "NNN", "NNN"),
    "reassign":       ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "NNN", "NNN"),
    "retry":          ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "YYY", "NNN"),
    "extend":         ("NNN", "NNN", "YNY", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY"),
    "stop_clock":     ("NNN", "YNY", "YNY", "YNY", "YNY", "YNY", "NNN", "NNN", "NNN", "YNY"),
    "resume_clock":   ("NNN", "YNY", "YNY", "YNY", "YNY", "YNY", "NNN", "NNN", "NNN", "YNY"),
    "read_statistics": ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "YYY", "YNY"),
    "supervise":      ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "YYY", "YNY"),
    "issue_letter":   ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "NNN", "NNN"),
    "act_on_alert":   ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YNY", "NNN", "NNN", "NNN"),
    "deploy":         ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YYY", "YYY", "NNN"),
    "migrate":        ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YYY", "YYY", "NNN"),
    "correlate":      ("NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "NNN", "YYY", "NNN"),
}  # fmt: skip
SITUATIONS = ("own", "other", "backup")


def _user(role: str, where: str) -> str:
    return f"{role.replace('_', '-')}.{where}"


@pytest.fixture
def county(engine):
    """A county with a service centre (whose supervisors watch the county), two departments, and for each role a
    user in each department plus an absent colleague in the case's department with a backup of the same role."""
    identity = engine.identity
    identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    identity.add_department("qx", "示范县人民政府", "county")
    identity.add_department(CENTRE, "示范县政务服务中心", "county", "qx", supervises="qx")
    identity.add_department(CASE_DEPARTMENT, "示范县市场监督管理局", "county", "qx")
    identity.add_department(OTHER, "示范县卫生健康局", "county", "qx")
    for role in ROLES:
        for where, department in (("own", CASE_DEPARTMENT), ("other", OTHER), ("absent", CASE_DEPARTMENT),
                                  ("backup", CASE_DEPARTMENT), ("centre", CENTRE)):  # fmt: skip
            identity.add_user(_user(role, where), "password-1", department, [role])
        identity.set_absent(_user(role, "absent"), _user(role, "backup"))
    return engine


def _task(role: str, situation: str, action: str) -> HumanTask:
    """The task of the case offered to the role's group; claimed by the user to be unclaimed, and by the absent
    colleague when the backup acts."""
    assignee = None
    if situation == "backup":
        assignee = _user(role, "absent")
    elif action == "unclaim":
        assignee = _user(role, "own")
    return HumanTask(id=f"task-{role}", case_id="case-1", bpmn_id="review", assignee=assignee, state="open",
                     candidate_groups=[f"{role}@{CASE_DEPARTMENT}"], candidate_users=[])  # fmt: skip


def _target(role: str, situation: str, action: str) -> policy.Target:
    task = _task(role, situation, action)
    return policy.Target(department=CASE_DEPARTMENT, case="SCJG-20260918-0001", started_by="someone.else",
                         task=task, tasks=(task,), item="SCJG-XK-001", person="reviewer.own",
                         person_department=CASE_DEPARTMENT)  # fmt: skip


def test_the_table_covers_every_action_and_every_role():
    assert set(TABLE) == set(policy.ACTIONS)
    assert set(ROLE_ORDER) == set(ROLES)


def test_each_role_in_each_situation_gets_the_answer_of_the_table(county):
    wrong = []
    for role, situation in ((r, s) for r in ROLE_ORDER for s in SITUATIONS):
        who = policy.subject(county, _user(role, situation))
        for action in policy.ACTIONS:
            expected = TABLE[action][ROLE_ORDER.index(role)][SITUATIONS.index(situation)]
            decision = policy.decide(who, action, _target(role, situation, action))
            if decision.allowed != (expected == "Y"):
                wrong.append((action, role, situation, expected, decision.message()))
            if not decision.allowed:
                assert decision.key in policy.MESSAGES and decision.message()  # a reason that renders
            if decision.allowed and situation == "backup" and action in policy.TASK_ACTIONS - {"see_task"}:
                assert decision.on_behalf_of == _user(role, "absent")  # recorded as "B for A"
    assert wrong == []


def test_the_comprehensive_window_accepts_the_items_the_catalog_names_it_for(county):
    centre_clerk = policy.subject(county, _user("clerk", "centre"))
    named = policy.Target(department=CASE_DEPARTMENT, windows=(CENTRE,), item="SCJG-XK-001")
    assert policy.decide(centre_clerk, "accept", named)
    unnamed = policy.Target(department=CASE_DEPARTMENT, item="SCJG-XK-002")
    refused = policy.decide(centre_clerk, "accept", unnamed)
    assert not refused and refused.key == "not_window_for_item" and "SCJG-XK-002" in refused.message()
    # a department window does not accept another department's item because a centre window may
    assert not policy.decide(policy.subject(county, _user("clerk", "other")), "accept", named)


def test_the_centre_supervisors_watch_every_department_of_the_county(county):
    supervisor = policy.subject(county, _user("supervisor", "centre"))
    target = policy.Target(department=CASE_DEPARTMENT, case="SCJG-20260918-0001")
    for action in ("see_case", "suspend", "read_statistics", "issue_letter"):
        assert policy.decide(supervisor, action, target), action
    assert not policy.decide(supervisor, "suspend", policy.Target(department="city"))


def test_a_task_a_present_colleague_holds_is_a_conflict_and_require_raises_the_reason(county):
    held = HumanTask(id="task-held", case_id="c", bpmn_id="review", assignee=_user("reviewer", "backup"),
                     state="open", candidate_groups=[f"reviewer@{CASE_DEPARTMENT}"], candidate_users=[])  # fmt: skip
    reviewer = policy.subject(county, _user("reviewer", "own"))
    decision = policy.decide(reviewer, "complete", policy.Target(task=held))
    assert not decision and decision.conflict and decision.params["assignee"] == "reviewer.backup"
    with pytest.raises(Conflict, match="already claimed by reviewer.backup") as raised:
        policy.require(reviewer, "complete", policy.Target(task=held))
    assert raised.value.key == "task_claimed_by_other" and raised.value.params["task"] == "task-held"
    with pytest.raises(Forbidden, match="not offered to clerk.own") as raised:
        policy.require(policy.subject(county, _user("clerk", "own")), "claim", policy.Target(task=held))
    assert raised.value.key == "task_not_offered"


def test_the_centre_window_is_offered_the_items_the_catalog_names_it_for(county):
    county.catalog.load(ROOT / "processes" / "catalog.toml")
    codes = lambda user: {i.code for i in county.catalog.acceptable(_user(*user))}  # noqa: E731
    assert codes(("clerk", "own")) == {i.code for i in county.catalog.list(CASE_DEPARTMENT)}
    centre = codes(("clerk", "centre"))
    assert "SCJG-XK-001" in centre and centre == {i.code for i in county.catalog.list() if CENTRE in i.windows}
    assert codes(("clerk", "other")) == {i.code for i in county.catalog.list(OTHER)}
    assert codes(("reviewer", "own")) == set()
    with pytest.raises(Forbidden, match="not a window for item SCJG-XK-001"):
        county.catalog.accept(_user("clerk", "other"), "SCJG-XK-001", {"name": "申请人"})
