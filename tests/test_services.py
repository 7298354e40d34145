"""The engine services end to end: deploy and versions, gateways, multi-instance, messages, data, rollback."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine.errors import (
    CaseNotRunning,
    CaseScriptError,
    Conflict,
    Forbidden,
    GovflowError,
    InvalidData,
    NotFound,
)
from engine.store import AuditEvent, Case, HumanTask, ProcessVersion
from tests.conftest import FIXTURES

CONFORMANCE = FIXTURES.parent / "conformance" / "diagrams"


def _only_task(engine, case_id):
    tasks = engine.tasks.query(case_id=case_id)
    assert len(tasks) == 1, [t.bpmn_id for t in tasks]
    return tasks[0]


def _walk(engine, case_id, steps):
    """Complete the single open task of the case once per (bpmn_id, data) step, checking the id."""
    for bpmn_id, data in steps:
        task = _only_task(engine, case_id)
        assert task.bpmn_id == bpmn_id
        engine.tasks.complete(task.id, "li.wei", data)


# -- repository -------------------------------------------------------------------------------------------
def test_deploy_creates_versions_and_unchanged_file_keeps_version(engine, deploy, tmp_path):
    first = deploy("approval_shape.bpmn")
    assert [(d.key, d.version, d.created) for d in first] == [("approval_shape", 1, True)]
    again = deploy("approval_shape.bpmn")
    assert [(d.key, d.version, d.created) for d in again] == [("approval_shape", 1, False)]

    changed = tmp_path / "approval_shape.bpmn"
    changed.write_text((FIXTURES / "approval_shape.bpmn").read_text().replace("审批（测试形态）", "审批 v2"))
    second = engine.repository.deploy_file(changed, "designer")
    assert [(d.version, d.created) for d in second] == [(2, True)]
    assert engine.repository.get("approval_shape").name == "审批 v2"
    assert [p.version for p in engine.repository.list(latest_only=False)] == [1, 2]


def test_spec_is_stored_once_per_version_not_in_case_state(engine, deploy):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": "market"})
    with engine.db.session() as s:
        pv = s.scalars(select(ProcessVersion)).one()
        state = json.loads(s.get(Case, case.id).state)
    assert "spec" not in state and "subprocess_specs" not in state
    assert "approval_shape" in pv.spec


def test_running_case_stays_on_its_version(engine, deploy, tmp_path):
    deploy("approval_shape.bpmn")
    old_case = engine.runtime.start("approval_shape", {"department": "market"})
    changed = tmp_path / "approval_shape.bpmn"
    # v2 drops the review step: the old case must still walk v1's review.
    source = (FIXTURES / "approval_shape.bpmn").read_text()
    source = (
        source.replace('targetRef="review"', 'targetRef="decide"')
        .replace('<bpmn:userTask id="review" name="审查" camunda:candidateGroups="reviewer@${department}"/>', "")
        .replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="score"/>', "")
    )
    source = source.replace('<bpmn:sequenceFlow id="f4" sourceRef="score" targetRef="decide"/>', "")
    source = source.replace(
        """<bpmn:scriptTask id="score" name="汇总意见">
      <bpmn:script>opinions = [opinion] if opinion else []
review_count = len(opinions)</bpmn:script>
    </bpmn:scriptTask>""",
        "",
    )
    changed.write_text(source)
    assert engine.repository.deploy_file(changed)[0].version == 2
    new_case = engine.runtime.start("approval_shape", {"department": "market"})

    _walk(engine, old_case.id, [("accept", {"outcome": "accept", "opinion": "齐全"})])
    assert _only_task(engine, old_case.id).bpmn_id == "review"
    _walk(engine, new_case.id, [("accept", {"outcome": "accept", "opinion": "齐全"})])
    assert _only_task(engine, new_case.id).bpmn_id == "decide"


def test_start_unknown_process_is_a_clear_error(engine):
    with pytest.raises(NotFound, match="process nope is not deployed"):
        engine.runtime.start("nope")


# -- running ----------------------------------------------------------------------------------------------
def test_exclusive_gateways_route_and_data_round_trips(engine, deploy):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": "market", "applicant": {"name": "张三"}})
    assert case.receipt_no.startswith("APPROVAL-20260918-")
    task = _only_task(engine, case.id)
    assert task.candidate_groups == ["clerk@market"]
    assert task.lane == "窗口"
    assert task.form_key == "test/opinion"
    _walk(engine, case.id, [
        ("accept", {"outcome": "accept", "opinion": "材料齐全"}),
        ("review", {"opinion": "符合条件", "amount": 12.5, "ok": True, "items": [1, 2, {"x": None}]}),
        ("decide", {"decision": "approve"}),
        ("certificate", {"certificate_no": "SP-001"}),
        ("deliver", {"delivered_by": "mail"}),
    ])  # fmt: skip
    view = engine.runtime.describe(case.id)
    assert view["status"] == "completed"
    assert view["tasks"] == []
    assert view["data"]["applicant"] == {"name": "张三"}
    assert view["data"]["items"] == [1, 2, {"x": None}]
    assert view["data"]["amount"] == 12.5 and view["data"]["ok"] is True
    assert view["data"]["review_count"] == 1  # set by the script task
    trail = engine.history.trail(case.id)
    completed = [e for e in trail if e.action == "task_completed"]
    assert [e.bpmn_id for e in completed] == ["accept", "review", "decide", "certificate", "deliver"]
    assert "score" in completed[1].payload["completed"]


def test_refusal_route_ends_case(engine, deploy):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": "market"})
    _walk(engine, case.id, [("accept", {"outcome": "refuse", "opinion": "不属于本机关职权"})])
    view = engine.runtime.describe(case.id)
    assert view["status"] == "completed"
    # The refusal gives no reason: the rule's alert is audited after the step (rules.RULES wrote no event before).
    step = [e for e in engine.history.trail(case.id) if e.action == "task_completed"][-1]
    assert "refused" in step.payload["completed"]


def test_parallel_gateway_and_parallel_multi_instance(engine, deploy):
    deploy("parallel_review.bpmn")
    case = engine.runtime.start("parallel_review", {"departments": ["fire", "housing", "environment"]})
    open_ids = sorted(t.bpmn_id for t in engine.tasks.query(case_id=case.id))
    assert open_ids == ["env_review", "fire_review"]
    fire = engine.tasks.query(case_id=case.id, groups=["reviewer@fire"])
    assert [t.bpmn_id for t in fire] == ["fire_review"]
    engine.tasks.complete(fire[0].id, "fire.officer", {"fire_ok": True})
    assert [t.bpmn_id for t in engine.tasks.query(case_id=case.id)] == ["env_review"]
    env = engine.tasks.query(case_id=case.id)[0]
    engine.tasks.complete(env.id, "env.officer", {"env_ok": True})

    children = engine.tasks.query(case_id=case.id)
    assert sorted(g for t in children for g in t.candidate_groups) == [
        "reviewer@environment", "reviewer@fire", "reviewer@housing",
    ]  # fmt: skip
    for t in children:
        engine.tasks.complete(t.id, "co.officer", {"opinion": t.candidate_groups[0]})
    assert engine.runtime.describe(case.id)["status"] == "completed"


def test_message_catch_waits_then_continues(engine, deploy):
    deploy("supplement_wait.bpmn")
    case = engine.runtime.start("supplement_wait", {"applicant": "王五"})
    assert engine.tasks.query(case_id=case.id) == []
    with pytest.raises(GovflowError, match="not waiting for message 'other'.*supplement_received"):
        engine.runtime.send_message(case.id, "other", {})
    engine.runtime.send_message(case.id, "supplement_received", {"materials": ["营业执照"]})
    task = _only_task(engine, case.id)
    assert task.bpmn_id == "check"
    assert engine.runtime.describe(case.id)["data"]["materials"] == ["营业执照"]


def test_task_data_must_be_plain_json(engine, deploy):
    deploy("supplement_wait.bpmn")
    with pytest.raises(InvalidData, match="JSON object"):
        engine.runtime.start("supplement_wait", ["not", "an", "object"])
    with pytest.raises(InvalidData, match="reserved"):
        engine.runtime.start("supplement_wait", {"_internal": 1})
    with pytest.raises(InvalidData, match="plain JSON"):
        engine.runtime.start("supplement_wait", {"x": float("nan")})


# -- failures roll back -----------------------------------------------------------------------------------
def _snapshot(engine, case_id):
    with engine.db.session() as s:
        case = s.get(Case, case_id)
        tasks = s.scalars(select(HumanTask).where(HumanTask.case_id == case_id).order_by(HumanTask.id)).all()
        events = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case_id))
        return case.state, case.data, [(t.id, t.state, t.assignee) for t in tasks], events


def test_failing_script_rolls_back_the_step_and_marks_case_error(engine, deploy):
    deploy("failing_script.bpmn")
    case = engine.runtime.start("failing_script", {})
    task = _only_task(engine, case.id)
    state, data, tasks, events = _snapshot(engine, case.id)

    with pytest.raises(CaseScriptError) as info:
        engine.tasks.complete(task.id, "li.wei", {"units": 0})
    assert info.value.element_id == "compute_fee"
    assert "ZeroDivisionError" in info.value.message

    after_state, after_data, after_tasks, after_events = _snapshot(engine, case.id)
    assert (after_state, after_data, after_tasks) == (state, data, tasks)  # the step left nothing behind
    assert after_events == events + 1  # only the error record, in its own transaction
    view = engine.runtime.describe(case.id)
    assert view["status"] == "error"
    assert view["error"]["element"] == "compute_fee"
    with pytest.raises(CaseNotRunning):
        engine.tasks.complete(task.id, "li.wei", {"units": 2})

    engine.runtime.retry(case.id, actor="admin")
    engine.tasks.complete(task.id, "li.wei", {"units": 4})
    assert _only_task(engine, case.id).bpmn_id == "pay"
    assert engine.runtime.describe(case.id)["data"]["fee"] == 25.0


def test_an_error_end_event_nobody_catches_ends_the_case_in_error_for_good(engine):
    engine.repository.deploy_file(CONFORMANCE / "error_end_unhandled.bpmn", "designer")
    case = engine.runtime.start("error_end_unhandled", {})
    check = next(t for t in engine.tasks.query(case_id=case.id) if t.bpmn_id == "check")
    engine.tasks.complete(check.id, "li.wei", {"complete": False})  # the step ran to the end event: kept

    view = engine.runtime.describe(case.id)
    assert view["status"] == "error"
    assert view["error"]["element"] == "failed" and "MATERIALS_MISSING" in view["error"]["message"]
    with engine.db.session() as s:
        rows = {t.bpmn_id: t.state for t in s.scalars(select(HumanTask).where(HumanTask.case_id == case.id))}
        assert s.get(Case, case.id).completed_at is None
    assert rows == {"check": "completed", "notify": "cancelled"}  # the other branch ended with the process
    *_, completed, error = engine.history.trail(case.id)
    assert (completed.action, completed.payload["completed"][-1]) == ("task_completed", "failed")
    assert (error.action, error.bpmn_id, error.payload["code"]) == ("case_error", "failed", "MATERIALS_MISSING")

    with pytest.raises(CaseNotRunning, match="cannot be retried"):
        engine.runtime.retry(case.id, actor="admin")
    assert engine.runtime.describe(case.id)["status"] == "error"
    engine.runtime.terminate(case.id, actor="admin", reason="申请材料缺失，退件")
    assert engine.runtime.describe(case.id)["status"] == "terminated"
    assert all(r.ok for r in engine.history.verify(case.id))


def test_failing_script_at_start_leaves_no_case(engine, deploy, tmp_path):
    bad = tmp_path / "bad_start.bpmn"
    bad.write_text((FIXTURES / "failing_script.bpmn").read_text().replace(
        '<bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="enter"/>',
        '<bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="compute_fee"/>').replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="enter" targetRef="compute_fee"/>',
        '<bpmn:sequenceFlow id="f2" sourceRef="enter" targetRef="done"/>').replace(
        '<bpmn:sequenceFlow id="f4" sourceRef="pay" targetRef="done"/>',
        '<bpmn:sequenceFlow id="f4" sourceRef="pay" targetRef="enter"/>'))  # fmt: skip
    engine.repository.deploy_file(bad)
    with pytest.raises(CaseScriptError, match="compute_fee"):
        engine.runtime.start("failing_script", {"units": 0})
    with engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        assert s.scalar(select(func.count()).select_from(HumanTask)) == 0


def test_task_query_filters_combine(engine, deploy):
    """Each combination of filters is its own statement (built once): user and groups offer, state and case narrow,
    and an empty list of groups offers nothing (it once matched every task)."""
    deploy("approval_shape.bpmn")
    first = engine.runtime.start("approval_shape", {"department": "market"})
    second = engine.runtime.start("approval_shape", {"department": "market"})
    a, b = _only_task(engine, first.id), _only_task(engine, second.id)
    assert {t.id for t in engine.tasks.query(groups=["clerk@market"])} == {a.id, b.id}
    assert engine.tasks.query(groups=[]) == []
    assert engine.tasks.query(groups=["clerk@housing", "reviewer@market"]) == []
    engine.tasks.claim(a.id, "li.wei", groups=["clerk@market"])
    assert [t.id for t in engine.tasks.query(user="li.wei", groups=[])] == [a.id]
    assert [t.id for t in engine.tasks.query(groups=["clerk@market"])] == [b.id]  # a claimed task is not offered
    assert [t.id for t in engine.tasks.query(case_id=second.id, user="zhao.li", groups=["clerk@market"])] == [b.id]
    engine.tasks.complete(a.id, "li.wei", {"outcome": "accept"})
    assert [t.bpmn_id for t in engine.tasks.query(case_id=first.id, state="completed")] == ["accept"]
    assert [t.id for t in engine.tasks.query(state=None, limit=1, offset=0)] != []
    assert len(engine.tasks.query(state=None, case_id=first.id, limit=1, offset=1)) == 1


# -- task rules -------------------------------------------------------------------------------------------
def test_claim_rules_and_completed_task_message(engine, deploy):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": "market"})
    task = _only_task(engine, case.id)
    with pytest.raises(Forbidden, match="not offered"):
        engine.tasks.claim(task.id, "outsider", groups=["clerk@housing"])
    engine.tasks.claim(task.id, "li.wei", groups=["clerk@market"])
    assert [t.id for t in engine.tasks.query(user="li.wei")] == [task.id]
    assert engine.tasks.query(user="zhao.li", groups=["clerk@market"]) == []
    with pytest.raises(Conflict, match="already claimed by li.wei"):
        engine.tasks.claim(task.id, "zhao.li", groups=["clerk@market"])
    with pytest.raises(Conflict, match="claimed by li.wei"):
        engine.tasks.complete(task.id, "zhao.li", {"outcome": "accept"})
    engine.tasks.unclaim(task.id, "li.wei")
    engine.tasks.complete(task.id, "zhao.li", {"outcome": "accept"}, groups=["clerk@market"])
    with pytest.raises(Conflict, match=r"already completed by zhao\.li at 2026-09-18 09:00:00 \+08:00"):
        engine.tasks.complete(task.id, "li.wei", {"outcome": "accept"})
    actions = [e.action for e in engine.history.trail(case.id)]
    assert actions == ["case_started", "task_claimed", "task_unclaimed", "task_completed"]


def test_suspend_resume_terminate_need_reason(engine, deploy):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": "market"})
    with pytest.raises(InvalidData, match="reason"):
        engine.runtime.suspend(case.id, actor="sup", reason=" ")
    engine.runtime.suspend(case.id, actor="sup", reason="群众举报核查")
    task = _only_task(engine, case.id)
    with pytest.raises(CaseNotRunning, match="suspended"):
        engine.tasks.complete(task.id, "li.wei", {"outcome": "accept"})
    engine.runtime.resume(case.id, actor="sup", reason="核查完毕")
    engine.runtime.terminate(case.id, actor="sup", reason="申请人撤回")
    assert engine.runtime.describe(case.id)["status"] == "terminated"
    assert engine.tasks.query(case_id=case.id) == []


@pytest.mark.backend("postgresql")  # a server that drops its connections (a restart, a failover)
def test_a_dropped_connection_fails_one_call_whole_and_the_next_reconnects(engine, deploy):
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    from tests.conftest import PG_URL

    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": "market"})
    task = _only_task(engine, case.id)
    before = _snapshot(engine, case.id)
    with engine.db.session() as s:
        pid = s.scalar(text("SELECT pg_backend_pid()"))  # the pooled connection the next call checks out
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    with pytest.raises(DBAPIError) as dropped:
        engine.tasks.complete(task.id, "li.wei", {"outcome": "accept"})
    assert dropped.value.connection_invalidated
    assert _snapshot(engine, case.id) == before  # nothing of the failed call was written
    engine.tasks.complete(task.id, "li.wei", {"outcome": "accept"})  # reconnected
    assert _only_task(engine, case.id).bpmn_id == "review"
