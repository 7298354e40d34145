"""Identity: the department tree, users and groups, sign-in with lockout, tokens, AB岗 backups acting "B for A",
delegation within the department, the inbox scoping and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.cli import main
from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.identity import AccountLocked, AuthenticationFailed
from engine.store import AuditEvent
from engine.store.identity import ApiToken
from engine.store.identity import User as UserRow
from tests.conftest import ROOT
from tests.people import HOUSING, MARKET, PASSWORD, seed_people


@pytest.fixture
def people(engine):
    seed_people(engine)
    return engine.identity


def _trail(engine, case_id, action):
    with engine.db.session() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action == action)).all()


# -- departments ---------------------------------------------------------------------------------------------
def test_supervision_office_watches_the_department_it_supervises(people):
    people.add_department("qx-zwfw", "示范县政务服务中心", "county", "qx", supervises="qx")
    assert set(people.supervision_scope("qx-zwfw")) == set(people.department_scope("qx")) | {"qx-zwfw"}
    assert people.supervision_scope(MARKET) == [MARKET]  # no `supervises`: its own subtree
    with pytest.raises(InvalidData, match="supervises 'nowhere' is not a known department"):
        people.add_department("qx-jc", "监察室", "county", "qx", supervises="nowhere")


def test_department_scope_is_the_subtree(people):
    assert people.department_scope("qx")[0] == "qx"
    assert set(people.department_scope("qx")) == {"qx", MARKET, HOUSING, "town-a", "village-a1"}
    assert people.department_scope("town-a") == ["town-a", "village-a1"]
    assert people.department_scope(MARKET) == [MARKET]
    with pytest.raises(NotFound):
        people.department_scope("nowhere")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x-1", "名", "province", None), "level 'province' must be one of"),
        (("x-1", "名", "town", "missing"), "parent 'missing' is not a known department"),
        (("x-1", "名", "county", "village-a1"), "a county department cannot sit under the village department"),
        (("Bad Code", "名", "town", None), "must be lower-case ascii"),
        (("x-1", " ", "town", None), "name is required"),
    ],
)
def test_bad_department_refused_with_reason(people, args, message):
    with pytest.raises(InvalidData, match=message):
        people.add_department(*args)


def test_load_departments_parents_first_and_errors_name_file(engine, tmp_path):
    path = tmp_path / "departments.toml"
    # The child comes before its parent in the file: loading must still work.
    path.write_text(
        '[[department]]\ncode = "qx-a"\nname = "甲局"\nlevel = "county"\nparent = "qx"\nleader = "boss"\n'
        '[[department]]\ncode = "qx"\nname = "县"\nlevel = "county"\n',
        encoding="utf-8",
    )
    loaded = engine.identity.load_departments(path)
    assert [d.code for d in loaded] == ["qx", "qx-a"]
    assert engine.identity.department("qx-a").leader == "boss"
    path.write_text('[[department]]\ncode = "qx-b"\nname = "乙"\nlevel = "town"\nparent = "nope"\n', encoding="utf-8")
    with pytest.raises(InvalidData, match=r"departments.toml: department qx-b: parent 'nope'"):
        engine.identity.load_departments(path)


def test_project_departments_file_loads(engine):
    path = ROOT / "processes" / "departments.toml"
    loaded = engine.identity.load_departments(path)
    levels = {d.level for d in loaded}
    assert {"city", "county", "town", "village"} <= levels


# -- users and sign-in ---------------------------------------------------------------------------------------
def test_user_groups_and_hashed_password(engine, people):
    user = people.get_user("reviewer.scjg")
    assert user.groups == (f"reviewer@{MARKET}",) and user.roles == ("reviewer",)
    with engine.db.session() as s:
        stored = s.get(UserRow, "reviewer.scjg").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert [u.username for u in people.colleagues("clerk.zjj")] == ["approver.zjj", "reviewer.zjj"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "reviewer.scjg"}, "already exists"),
        ({"roles": ["Wizard"]}, "is not a role name"),
        ({"roles": []}, "needs at least one role"),
        ({"department": "nowhere"}, "department nowhere does not exist"),
        ({"password": "short"}, "at least 8 characters"),
        ({"username": "<script>"}, "must be 1-100 ascii"),
    ],
)
def test_bad_user_refused_with_reason(people, kwargs, message):
    args = {"username": "new.user", "password": PASSWORD, "department": MARKET, "roles": ["clerk"], **kwargs}
    with pytest.raises(InvalidData, match=message):
        people.add_user(**args)


def test_lockout_after_five_failures_for_fifteen_minutes(engine, people, clock):
    assert people.authenticate("clerk.scjg", PASSWORD).username == "clerk.scjg"
    for _ in range(5):
        with pytest.raises(AuthenticationFailed) as failed:
            people.authenticate("clerk.scjg", "wrong-password")
        assert not isinstance(failed.value, AccountLocked)
    with pytest.raises(AccountLocked) as locked:
        people.authenticate("clerk.scjg", PASSWORD)  # even the right password waits
    assert locked.value.until == clock.now() + timedelta(minutes=15)
    assert "locked" in str(locked.value) and locked.value.http_status == 429
    clock.advance(minutes=15, seconds=1)
    assert people.authenticate("clerk.scjg", PASSWORD).username == "clerk.scjg"
    # success clears the count: four new failures do not lock
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            people.authenticate("clerk.scjg", "nope-nope")
    assert people.authenticate("clerk.scjg", PASSWORD)


def test_unknown_user_fails_like_a_wrong_password(people):
    with pytest.raises(AuthenticationFailed) as unknown:
        people.authenticate("nobody", PASSWORD)
    with pytest.raises(AuthenticationFailed) as wrong:
        people.authenticate("clerk.scjg", "not-the-password")
    assert str(unknown.value) == str(wrong.value) == "wrong user name or password"


def test_tokens_are_stored_hashed_and_expire(engine, people, clock):
    token = people.issue_token("approver.scjg")
    assert people.user_for_token(token).username == "approver.scjg"
    with engine.db.session() as s:
        assert token not in {row.token_hash for row in s.scalars(select(ApiToken))}
    with pytest.raises(AuthenticationFailed, match="unknown or expired"):
        people.user_for_token(token + "x")
    clock.advance(hours=12, seconds=1)
    with pytest.raises(AuthenticationFailed, match="unknown or expired"):
        people.user_for_token(token)


def test_a_tokens_actor_is_its_users_actor_with_the_colleagues_covered(people, clock):
    token = people.issue_token("reviewer.scjg")
    assert people.actor_for_token(token) == people.actor("reviewer.scjg")
    people.set_absent("approver.scjg", "reviewer.scjg", until=clock.now() + timedelta(days=2))
    actor = people.actor_for_token(token)
    assert actor == people.actor("reviewer.scjg") and actor.covers == ("approver.scjg",)
    assert set(actor.groups) == {f"reviewer@{MARKET}", f"approver@{MARKET}"}
    assert actor.user.roles == ("reviewer",) and actor.user.groups == (f"reviewer@{MARKET}",)
    with pytest.raises(AuthenticationFailed, match="unknown or expired"):
        people.actor_for_token(token + "x")
    clock.advance(hours=12, seconds=1)
    with pytest.raises(AuthenticationFailed, match="unknown or expired"):
        people.actor_for_token(token)


# -- absences (AB岗) -----------------------------------------------------------------------------------------
def test_backup_acts_with_absent_colleagues_groups_until_the_end(people, clock):
    assert people.actor("reviewer.scjg").groups == (f"reviewer@{MARKET}",)
    people.set_absent("approver.scjg", "reviewer.scjg", until=clock.now() + timedelta(days=2))
    actor = people.actor("reviewer.scjg")
    assert actor.covers == ("approver.scjg",)
    assert set(actor.groups) == {f"reviewer@{MARKET}", f"approver@{MARKET}"}
    assert people.acting_for("reviewer.scjg") == ["approver.scjg"]
    clock.advance(days=2, seconds=1)
    assert people.acting_for("reviewer.scjg") == []
    people.set_absent("approver.scjg", "reviewer.scjg")
    people.clear_absent("approver.scjg")
    assert people.actor("reviewer.scjg").covers == ()


def test_backup_must_be_another_present_colleague_of_the_department(people):
    with pytest.raises(InvalidData, match="must be of approver.scjg's department"):
        people.set_absent("approver.scjg", "reviewer.zjj")
    with pytest.raises(InvalidData, match="cannot be their own backup"):
        people.set_absent("approver.scjg", "approver.scjg")
    people.set_absent("approver.scjg", "reviewer.scjg")
    with pytest.raises(InvalidData, match="is absent and covered by reviewer.scjg"):
        people.set_absent("reviewer.scjg", "approver.scjg")


def test_backup_completes_absent_approvers_task_recorded_b_for_a(engine, deploy, people):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": MARKET})
    reviewer, approver = people.actor("reviewer.scjg"), people.actor("approver.scjg")
    accept = engine.tasks.query(case_id=case.id)[0]
    engine.tasks.complete(accept.id, actor=people.actor("clerk.scjg"), data={"outcome": "accept"})
    review = engine.tasks.query(case_id=case.id)[0]
    engine.tasks.complete(review.id, actor=reviewer, data={"opinion": "材料齐全"})
    decide = engine.tasks.query(case_id=case.id)[0]
    engine.tasks.claim(decide.id, actor=approver)
    with pytest.raises(Forbidden, match="not offered to reviewer.scjg"):  # not a reviewer's task
        engine.tasks.complete(decide.id, actor=reviewer, data={"decision": "approve"})

    people.set_absent("approver.scjg", "reviewer.scjg")
    backup = people.actor("reviewer.scjg")
    rows, total, _ = engine.tasks.inbox(backup)
    assert [(r.bpmn_id, r.on_behalf_of) for r in rows] == [("decide", "approver.scjg")] and total == 1
    engine.tasks.complete(decide.id, actor=backup, data={"decision": "approve", "opinion": "同意"})
    event = _trail(engine, case.id, "task_completed")[-1]
    assert event.actor == "reviewer.scjg" and event.payload["on_behalf_of"] == "approver.scjg"
    assert event.payload["opinion"] == "同意"


def test_backup_claims_group_task_of_absent_colleague(engine, deploy, people):
    deploy("inbox_due.bpmn")
    case = engine.runtime.start("inbox_due", {"department": MARKET, "due": "2026-10-30T23:59:59+08:00"})
    review = engine.tasks.query(case_id=case.id)[0]
    engine.tasks.complete(
        review.id,
        actor=people.actor("reviewer.scjg"),
        data={"conclusion": "pass", "site_area": 20, "inspectors": [{"name": "王"}]},
    )
    decide = engine.tasks.query(case_id=case.id)[0]
    with pytest.raises(Forbidden):
        engine.tasks.claim(decide.id, actor=people.actor("clerk.scjg"))
    people.set_absent("approver.scjg", "clerk.scjg")
    engine.tasks.claim(decide.id, actor=people.actor("clerk.scjg"))
    event = _trail(engine, case.id, "task_claimed")[-1]
    assert (event.actor, event.payload["on_behalf_of"]) == ("clerk.scjg", "approver.scjg")


def test_completion_validates_the_form_with_field_messages(engine, deploy, people):
    deploy("inbox_due.bpmn")
    case = engine.runtime.start("inbox_due", {"department": MARKET, "due": "2026-10-30T23:59:59+08:00"})
    review = engine.tasks.query(case_id=case.id)[0]
    with pytest.raises(InvalidData) as bad:
        engine.tasks.complete(review.id, actor=people.actor("reviewer.scjg"), data={"site_area": 0})
    assert bad.value.errors == [("conclusion", "必填"), ("site_area", "不得小于 1")]
    assert engine.tasks.query(case_id=case.id)[0].id == review.id  # nothing happened


# -- delegation ----------------------------------------------------------------------------------------------
def test_delegation_only_to_a_present_colleague_of_the_department(engine, deploy, people):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": MARKET})
    task = engine.tasks.query(case_id=case.id)[0]
    clerk = people.actor("clerk.scjg")
    with pytest.raises(InvalidData, match="not a colleague of clerk.scjg"):
        engine.tasks.delegate(task.id, to_user="clerk.zjj", actor=clerk)
    with pytest.raises(InvalidData, match="cannot be delegated to oneself"):
        engine.tasks.delegate(task.id, to_user="clerk.scjg", actor=clerk)
    people.set_absent("designer.scjg", "admin.scjg")
    with pytest.raises(InvalidData, match="designer.scjg is absent; admin.scjg covers"):
        engine.tasks.delegate(task.id, to_user="designer.scjg", actor=clerk)
    moved = engine.tasks.delegate(task.id, to_user="reviewer2.scjg", actor=clerk)
    assert moved.assignee == "reviewer2.scjg"
    rows, _, _ = engine.tasks.inbox(people.actor("reviewer2.scjg"))
    assert [r.task_id for r in rows] == [task.id]
    with pytest.raises(Conflict, match="already claimed by reviewer2.scjg"):
        engine.tasks.claim(task.id, actor=clerk)


def test_other_department_never_sees_or_acts(engine, deploy, people):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": MARKET})
    task = engine.tasks.query(case_id=case.id)[0]
    outsider = people.actor("clerk.zjj")
    rows, total, counts = engine.tasks.inbox(outsider)
    assert (rows, total, sum(counts.values())) == ([], 0, 0)
    for act in (engine.tasks.claim, engine.tasks.unclaim):
        with pytest.raises(Forbidden):
            act(task.id, actor=outsider)
    with pytest.raises(Forbidden):
        engine.tasks.complete(task.id, actor=outsider, data={"outcome": "accept"})
    with pytest.raises(NotFound):
        engine.tasks.get_for(outsider, task.id)
    assert engine.tasks.get_for(people.actor("clerk.scjg"), task.id).id == task.id


# -- CLI -----------------------------------------------------------------------------------------------------
def test_cli_departments_users_and_absence(database_url, tmp_path):
    from engine.store import Database, upgrade

    upgrade(Database(database_url))
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["--db", database_url, *args])

    deps = tmp_path / "d.toml"
    deps.write_text('[[department]]\ncode = "qx"\nname = "示范县"\nlevel = "county"\n'
                    '[[department]]\ncode = "qx-scjg"\nname = "市场监管局"\nlevel = "county"\nparent = "qx"\n',
                    encoding="utf-8")  # fmt: skip
    assert run("department", "load", str(deps)).output == "2 departments loaded\n"
    listed = json.loads(run("department", "list", "--json").output)
    assert [(d["code"], d["parent"]) for d in listed] == [("qx", None), ("qx-scjg", "qx")]
    assert "  qx-scjg  市场监管局  [county]" in run("department", "list").output
    added = run("user", "add", "wang.fang", "--password", PASSWORD, "--department", "qx-scjg", "--role", "reviewer",
                "--role", "approver", "--display-name", "王芳")  # fmt: skip
    assert added.exit_code == 0 and "approver@qx-scjg, reviewer@qx-scjg" in added.output
    run("user", "add", "li.na", "--password", PASSWORD, "--department", "qx-scjg", "--role", "reviewer")
    result = run("user", "absent", "wang.fang", "--backup", "li.na", "--until", "2099-10-07")
    assert result.exit_code == 0 and "until 2099-10-07T23:59+08:00; li.na covers" in result.output
    users = {u["username"]: u for u in json.loads(run("user", "list", "--json").output)}
    assert users["wang.fang"]["absent"]["backup"] == "li.na" and users["wang.fang"]["display_name"] == "王芳"
    bad = run("user", "add", "x.y", "--password", PASSWORD, "--department", "nowhere", "--role", "clerk")
    assert (
        bad.exit_code == 1 and bad.output.strip() == "error: department nowhere does not exist (load or add it first)"
    )
    bad = run("user", "absent", "wang.fang", "--backup", "li.na", "--until", "soon")
    assert bad.exit_code == 1 and "is not a date" in bad.output and "Traceback" not in bad.output
