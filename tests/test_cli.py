"""The CLI contract: a designer can lint, deploy and walk a diagram from the terminal; errors are one line."""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_walk_a_diagram_from_the_terminal(gf):
    out = gf("deploy", str(FIXTURES / "approval_shape.bpmn")).stdout
    assert out.strip() == "approval_shape v1"
    assert gf("deploy", str(FIXTURES / "approval_shape.bpmn")).stdout.strip() == "approval_shape v1 (unchanged)"
    processes = json.loads(gf("processes", "--json").stdout)
    assert [(p["key"], p["version"]) for p in processes] == [("approval_shape", 1)]

    case_id, receipt = gf(
        "start", "approval_shape", "--data", '{"department": "market"}', "--as", "clerk1"
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


def test_lint_and_deploy_refusal_formats(gf, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text((FIXTURES / "approval_shape.bpmn").read_text().replace('targetRef="score"', 'targetRef="nowhere"'))
    out = gf("lint", str(bad), expect=1).stdout.strip().splitlines()
    assert out == [
        f"{bad}:28: f3: sequence flow targetRef 'nowhere' is not an element of this process",
        f"{bad}:29: score: scriptTask has no incoming sequence flow: it can never be reached",
    ]
    assert gf("lint", str(FIXTURES / "approval_shape.bpmn")).stdout == ""
    err = gf("deploy", str(bad), expect=2).stderr.strip().splitlines()
    assert err == out


def test_errors_are_one_line(gf):
    assert gf("start", "nope", expect=1).stderr == "error: process nope is not deployed\n"
    gf("deploy", str(FIXTURES / "approval_shape.bpmn"))
    err = gf("start", "approval_shape", "--data", "{oops", expect=1).stderr
    assert err.startswith("error: --data is not valid JSON") and len(err.splitlines()) == 1
    assert gf("case", "missing", expect=1).stderr == "error: case missing does not exist\n"
    assert gf("claim", "0000", "--as", "x", expect=1).stderr == "error: task 0000 does not exist\n"
