"""The CLI contract: a designer can lint, deploy and walk a diagram from the terminal; errors are one line; every
command acts as an existing user with exactly that user's rights and the task's form, and an operator's override
is explicit and audited; the README's command examples run as written on a fresh database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT


@pytest.fixture
def gf(database_url):
    """Run the real `govflow` command in a subprocess against the test database."""

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli", "--db", database_url, "--forms", str(FIXTURES / "forms"), *args],
            capture_output=True, text=True, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        return proc

    run("init")
    return run


PASSWORD = "govflow-2026"


@pytest.fixture
def people(gf):
    """The market department with a designer, two clerks, a reviewer; and the housing department's clerk."""
    gf("department", "add", "market", "--name", "市场监督管理局", "--level", "county")
    gf("department", "add", "housing", "--name", "住房和城乡建设局", "--level", "county")
    for name, department, role in (("designer.wu", "market", "designer"), ("li.wei", "market", "clerk"),
                                   ("zhao.li", "market", "clerk"), ("wang.rev", "market", "reviewer"),
                                   ("he.clerk", "housing", "clerk")):  # fmt: skip
        gf("user", "add", name, "--password", PASSWORD, "--department", department, "--role", role)
    return gf


def test_walk_a_diagram_from_the_terminal(people):
    gf = people
    out = gf("deploy", str(FIXTURES / "approval_shape.bpmn"), "--as", "designer.wu").stdout
    assert out.strip() == "approval_shape v1"
    again = gf("deploy", str(FIXTURES / "approval_shape.bpmn"), "--as", "designer.wu").stdout
    assert again.strip() == "approval_shape v1 (unchanged)"
    processes = json.loads(gf("processes", "--json").stdout)
    assert [(p["key"], p["version"]) for p in processes] == [("approval_shape", 1)]

    case_id, receipt = gf(
        "start", "approval_shape", "--data", '{"department": "market"}', "--as", "li.wei"
    ).stdout.split()
    assert receipt.startswith("APPROVAL-")
    [task] = json.loads(gf("tasks", "--case", case_id, "--json").stdout)
    assert set(task) == {
        "id",
        "case_id",
        "bpmn_id",
        "name",
        "lane",
        "candidate_groups",
        "assignee",
        "state",
        "form_key",
        "due_at",
        "warn_at",
        "statutory_due_at",
        "colour",
        "days_left",
        "provisional",
        "stopped",
    }
    assert task["bpmn_id"] == "accept" and task["candidate_groups"] == ["clerk@market"]

    gf("claim", task["id"][:8], "--as", "li.wei")
    out = gf("complete", task["id"], "--data", '{"outcome": "accept"}', "--as", "li.wei").stdout
    assert "completed" in out and "review" in out

    err = gf("complete", task["id"], "--data", '{"outcome": "accept"}', "--as", "li.wei", expect=1).stderr
    assert err.startswith(f"error: task {task['id']} is already completed by li.wei at ")
    assert len(err.strip().splitlines()) == 1

    case = json.loads(gf("case", receipt, "--json").stdout)
    assert {"id", "receipt_no", "process", "version", "status", "data", "tasks"} <= set(case)
    assert case["status"] == "running" and [t["bpmn_id"] for t in case["tasks"]] == ["review"]
    assert [e["action"] for e in case["trail"]] == ["case_started", "task_claimed", "task_completed"]
    assert "1 of 1 case chains intact" in gf("audit", "verify").stdout


def test_lint_and_deploy_refusal_formats(people, tmp_path):
    gf = people
    bad = tmp_path / "bad.bpmn"
    bad.write_text((FIXTURES / "approval_shape.bpmn").read_text().replace('targetRef="score"', 'targetRef="nowhere"'))
    out = gf("lint", str(bad), expect=1).stdout.strip().splitlines()
    assert out == [
        f"{bad}:28: f3: sequence flow targetRef 'nowhere' is not an element of this process",
        f"{bad}:29: score: scriptTask has no incoming sequence flow: it can never be reached",
    ]
    assert gf("lint", str(FIXTURES / "approval_shape.bpmn")).stdout == ""
    err = gf("deploy", str(bad), "--as", "designer.wu", expect=2).stderr.strip().splitlines()
    assert err == out


def test_deploy_a_file_with_a_taken_process_id_needs_new_version_of(people, tmp_path):
    gf = people
    gf("deploy", str(FIXTURES / "approval_shape.bpmn"), "--as", "designer.wu")
    other = tmp_path / "county_approval.bpmn"
    other.write_text((FIXTURES / "approval_shape.bpmn").read_text().replace("审批（测试形态）", "县级审批"))
    [err] = gf("deploy", str(other), "--as", "designer.wu", expect=2).stderr.strip().splitlines()
    assert err.startswith(f"{other}:5: approval_shape: process id 'approval_shape' is already deployed from ")
    assert err.endswith("deploy with --new-version-of approval_shape, else give the process another id")
    out = gf("deploy", str(other), "--new-version-of", "approval_shape", "--as", "designer.wu").stdout
    assert out.strip() == "approval_shape v2"


def test_errors_are_one_line(people):
    gf = people
    assert gf("start", "nope", "--as", "li.wei", expect=1).stderr == "error: process nope is not deployed\n"
    gf("deploy", str(FIXTURES / "approval_shape.bpmn"), "--as", "designer.wu")
    err = gf("start", "approval_shape", "--data", "{oops", "--as", "li.wei", expect=1).stderr
    assert err.startswith("error: --data is not valid JSON") and len(err.splitlines()) == 1
    assert gf("case", "missing", expect=1).stderr == "error: case missing does not exist\n"
    assert gf("claim", "0000", "--as", "x", expect=1).stderr == "error: task 0000 does not exist\n"


def _review_task(gf, user: str = "li.wei") -> tuple[str, str]:
    """A case of the inbox_due diagram (no catalog item) at its review, whose form is test/review."""
    gf("deploy", str(FIXTURES / "inbox_due.bpmn"), "--as", "designer.wu")
    data = json.dumps({"due": "2026-12-31T17:00:00+08:00"})
    case_id, receipt = gf("start", "inbox_due", "--data", data, "--as", user).stdout.split()
    [task] = json.loads(gf("tasks", "--case", case_id, "--json").stdout)
    return receipt, task["id"]


def test_the_cli_acts_with_exactly_the_rights_of_an_existing_user(people):
    gf = people
    receipt, task = _review_task(gf)
    assert gf("claim", task, "--as", "nobody", expect=1).stderr == "error: user nobody does not exist\n"
    # not a reviewer of the department; another department's clerk does not even start a case here
    assert gf("claim", task, "--as", "zhao.li", expect=1).stderr == f"error: task {task} is not offered to zhao.li\n"
    err = gf("start", "inbox_due", "--data", '{"department": "market"}', "--as", "he.clerk", expect=1).stderr
    assert err == "error: department market is outside the scope of he.clerk\n"
    err = gf("deploy", str(FIXTURES / "approval_shape.bpmn"), "--as", "li.wei", expect=1).stderr
    assert err == "error: li.wei may not deploy: that needs the admin or designer role\n"
    gf("claim", task, "--as", "wang.rev")
    gf("user", "add", "wang.rev2", "--password", PASSWORD, "--department", "market", "--role", "reviewer")
    review = json.dumps({"conclusion": "pass", "site_area": 35, "inspectors": [{"name": "张三"}]})
    err = gf("complete", task, "--data", review, "--as", "wang.rev2", expect=1).stderr
    assert err == f"error: task {task} is already claimed by wang.rev\n"  # claimed by someone else
    case = json.loads(gf("case", receipt, "--json").stdout)
    assert [e["action"] for e in case["trail"]] == ["case_started", "task_claimed"]  # nothing else written


def test_cli_form_data_is_checked_field_by_field(people):
    gf = people
    receipt, task = _review_task(gf)
    gf("claim", task, "--as", "wang.rev")
    for data, expected in (
        ({"conclusion": "pass", "site_area": 35, "inspectors": [{"name": "张三"}], "department": "housing"},
         "department 是办件的基本信息，不能在办理任务时修改"),
        ({"conclusion": "pass", "site_area": 35, "inspectors": [{"name": "张三"}], "approved": True},
         "approved：表单没有此字段"),
        ({"conclusion": "pass", "site_area": 35, "inspectors": [{"name": "张三"}], "hazard": "no"},
         "存在安全隐患：应为是/否 (hazard: 应为是/否)"),  # a string where a boolean is expected
        ({"conclusion": "pass", "site_area": "35", "inspectors": [{"name": "张三"}]}, "(site_area: 应为数字)"),
        ({"site_area": 35, "inspectors": [{"name": "张三"}]}, "审查结论：必填 (conclusion: 必填)"),
    ):
        err = gf("complete", task, "--data", json.dumps(data), "--as", "wang.rev", expect=1).stderr
        assert expected in err and len(err.splitlines()) == 1, (data, err)
    case = json.loads(gf("case", receipt, "--json").stdout)
    assert case["data"]["department"] == "market" and case["tasks"][0]["id"] == task
    good = {"conclusion": "pass", "site_area": 35, "inspectors": [{"name": "张三"}], "hazard": False}
    assert "completed" in gf("complete", task, "--data", json.dumps(good), "--as", "wang.rev").stdout


def test_an_operator_override_needs_a_reason_and_is_audited(people):
    gf = people
    receipt, task = _review_task(gf)
    err = gf("claim", task, "--as", "zhao.li", "--override", expect=1).stderr
    assert err.startswith("error: an override needs a reason (--reason)")
    gf("claim", task, "--as", "zhao.li", "--override", "--reason", "审查岗空缺，临时转办")
    event = json.loads(gf("case", receipt, "--json").stdout)["trail"][-1]
    assert (event["actor"], event["action"]) == ("zhao.li", "task_claimed")
    override = event["payload"]["override"]
    assert override["reason"] == "审查岗空缺，临时转办" and override["operator"]
    assert "1 of 1 case chains intact" in gf("audit", "verify").stdout


CATALOG = """
[[item]]
code = "MKT-001"
name = "食品经营许可"
kind = "license"
department = "market"
legal_basis = "《中华人民共和国食品安全法》第三十五条"
handling = "promised"
statutory_limit = "20wd"
promised_limit = "10wd"
process = "approval_shape"

[[item.materials]]
name = "申请书"
required = true
"""


def test_a_catalog_process_started_by_key_is_refused_naming_what_is_missing(people, tmp_path):
    gf = people
    gf("deploy", str(FIXTURES / "approval_shape.bpmn"), "--as", "designer.wu")
    (tmp_path / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    gf("catalog", "load", str(tmp_path / "catalog.toml"))
    err = gf("start", "approval_shape", "--data", '{"department": "market"}', "--as", "li.wei", expect=1).stderr
    assert err.startswith("error: process approval_shape runs catalog items (MKT-001)") and "govflow apply" in err
    assert len(err.splitlines()) == 1
    # accepted at the window instead, the case gets the catalog's facts
    case_id, _receipt = gf("apply", "MKT-001", "--applicant", '{"name": "张三"}', "--data",
                           '{"materials": ["申请书"]}', "--as", "li.wei").stdout.split()  # fmt: skip
    data = json.loads(gf("case", case_id, "--json").stdout)["data"]
    assert (data["item_code"], data["department"], data["limits"]["case"]["promised"]) == ("MKT-001", "market", "10wd")


def _readme_commands() -> str:
    """The bash block of the README's command-line section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The command line"):]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def test_the_readme_commands_run_as_written_on_a_fresh_database(database_url, tmp_path):
    block = _readme_commands()
    commands = [line for line in block.splitlines() if line.startswith("govflow ")]
    assert len(commands) >= 30 and {"init", "apply", "claim", "complete", "case"} <= {c.split()[1] for c in commands}
    for folder in ("processes", "forms"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    env = {**os.environ, "GOVFLOW_DATABASE_URL": database_url, "GOVFLOW_FILES_DIR": str(tmp_path / "files"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert "error:" not in proc.stderr and "Traceback" not in proc.stderr
    assert "1 of 1 case chains intact" in proc.stdout
