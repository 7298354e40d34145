"""Any group a designer names can be staffed (issue 13 item 3): a role is any lower-case name; the built-in roles
carry the platform's permissions, any other is a task group only; a deploy warns about a group nobody holds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine import policy
from engine.errors import InvalidData
from tests.conftest import FIXTURES, ROOT
from tests.people import MARKET, PASSWORD, seed_people


@pytest.fixture
def people(engine):
    seed_people(engine)
    return engine.identity


def _seen(engine, user: str) -> list[str]:
    rows, _total, _counts = engine.tasks.inbox(engine.identity.actor(user), {}, per_page=100)
    return sorted(r.bpmn_id for r in rows)


def test_a_designers_group_is_staffed_and_its_member_sees_its_tasks(engine, people, deploy):
    (first,) = deploy("custom_group.bpmn")
    assert first.warnings == (
        "custom_group.bpmn:8: investigate: candidate group investigator@qx-scjg has no member yet; its tasks wait "
        "until someone holds it (govflow user add NAME --department qx-scjg --role investigator)",
    )  # the ${department} group of `reply` is resolved per case: not checked
    people.add_user("inv1", PASSWORD, MARKET, ["investigator"], display_name="调查员一")
    assert people.get_user("inv1").groups == (f"investigator@{MARKET}",)
    case = engine.runtime.start("custom_group", {"department": MARKET})
    assert _seen(engine, "inv1") == ["investigate"]
    for other in ("reviewer.scjg", "clerk.scjg", "approver.scjg"):
        assert _seen(engine, other) == []
    (task,) = engine.tasks.query(case_id=case.id, state="open")
    engine.tasks.claim(task.id, actor=people.actor("inv1"))
    engine.tasks.complete(task.id, actor=people.actor("inv1"), data={})
    assert _seen(engine, "inv1") == ["reply"]  # investigator@${department}, resolved to the case's department


def test_a_task_group_role_carries_no_platform_permission(engine, people):
    people.add_user("inv1", PASSWORD, MARKET, ["investigator"])
    subject = policy.subject(engine, people.get_user("inv1"))
    target = policy.Target(department=MARKET)
    for action in ("supervise", "deploy", "accept", "start", "read_statistics", "suspend", "extend"):
        assert not policy.decide(subject, action, target), action


def test_no_warning_once_the_group_is_held_and_roles_are_listed_with_their_kind(engine, people, deploy):
    info = people.add_role("investigator", "调查员")
    assert (info.code, info.name, info.built_in) == ("investigator", "调查员", False)
    people.add_user("inv1", PASSWORD, MARKET, ["investigator"])
    (deployed,) = deploy("custom_group.bpmn")
    assert deployed.warnings == ()
    roles = {r.code: r for r in people.roles()}
    assert roles["investigator"].name == "调查员" and not roles["investigator"].built_in
    assert roles["clerk"].built_in and roles["clerk"].name == "窗口受理员"
    assert people.role_codes()[-1] == "investigator"  # the built-in ones first


@pytest.mark.parametrize("role", ["Investigator", "调查员", "in vestigator", "1st", "a" * 33, ""])
def test_a_role_that_is_not_a_lower_case_name_is_refused(people, role):
    with pytest.raises(InvalidData, match="is not a role name"):
        people.add_user("inv1", PASSWORD, MARKET, [role])
    with pytest.raises(InvalidData, match="is not a role name"):
        people.add_role(role)


def test_the_cli_staffs_a_new_group(database_url, tmp_path):
    def gf(*args, expect=0):
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli", "--db", database_url, "--forms", str(FIXTURES / "forms"), *args],
            capture_output=True, text=True, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert proc.returncode == expect, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        return proc

    gf("init")
    gf("department", "add", MARKET, "--name", "示范县市场监督管理局", "--level", "county")
    gf("user", "add", "designer.wu", "--password", PASSWORD, "--department", MARKET, "--role", "designer")
    deployed = gf("deploy", str(FIXTURES / "custom_group.bpmn"), "--as", "designer.wu")
    assert deployed.stdout.strip() == "custom_group v1"
    assert "warning: custom_group.bpmn:8: investigate: candidate group investigator@qx-scjg has no member" in (
        deployed.stderr
    )
    added = gf("user", "add", "inv1", "--password", PASSWORD, "--department", MARKET, "--role", "investigator")
    assert added.stdout.strip() == f"user inv1 added to {MARKET}: investigator@{MARKET}"
    assert "role investigator (调查员) is a task group role" in gf("role", "add", "investigator", "--name", "调查员").stdout
    listed = {r["code"]: r for r in json.loads(gf("role", "list", "--json").stdout)}
    assert listed["investigator"] == {"code": "investigator", "name": "调查员", "built_in": False}
    refused = gf("user", "add", "inv2", "--password", PASSWORD, "--department", MARKET, "--role", "Investigator",
                 expect=1)  # fmt: skip
    assert "'Investigator' is not a role name" in refused.stderr
    assert gf("deploy", str(FIXTURES / "custom_group.bpmn"), "--as", "designer.wu").stderr == ""
