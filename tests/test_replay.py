"""Replay: the diagram state and data after each audit event equal what the case showed at that moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
import supervision_world as world

from engine import replay


@pytest.fixture
def county(engine):
    world.build(engine)
    return engine


def _observed(engine, case_id) -> tuple[set[str], str]:
    """What the case shows right now: the BPMN ids of its open tasks and its status."""
    view = engine.runtime.describe(case_id)
    return {t["bpmn_id"] for t in view["tasks"]}, view["status"]


def test_replay_of_an_approval_with_one_supplement_reproduces_every_step(county, clock):
    case = world.start(county, "town-a")
    seen = [_observed(county, case.id)]

    def step(action):
        action()
        seen.append(_observed(county, case.id))
        clock.advance(hours=3)

    step(
        lambda: world.complete(county, case.id, "accept", "clerk.a", {"outcome": "supplement", "missing": ["营业执照"]})
    )
    step(lambda: county.runtime.send_message(case.id, "supplement_received", {"supplied": ["营业执照"]}))
    step(lambda: world.complete(county, case.id, "accept", "clerk.a", {"outcome": "accept"}))
    clock.advance(days=5)  # review is due 2026-09-22: it is overdue when the reviewer claims it
    step(lambda: county.tasks.claim(world.task_of(county, case.id, "review").id, "clerk.a"))
    step(lambda: world.complete(county, case.id, "review", "clerk.a", {"opinion": "符合条件"}))
    step(lambda: world.complete(county, case.id, "decide", "clerk.a", {"decision": "approve"}))
    step(lambda: world.complete(county, case.id, "certificate", "clerk.a", {"certificate_no": "JY2026-001"}))

    frames = replay.replay(county, case.receipt_no)
    assert [f.action for f in frames] == [
        "case_started", "task_completed", "message_received", "task_completed", "task_claimed",
        "task_completed", "task_completed", "task_completed",
    ]  # fmt: skip
    for frame, (open_tasks, status) in zip(frames, seen, strict=True):
        assert open_tasks <= set(frame.active), frame.action
        assert frame.status == status
    assert frames[0].active == ("accept",) and frames[0].completed == ("received",)
    assert frames[1].active == ("wait_supplement",)
    assert {"accept", "gw_accept"} <= set(frames[1].completed)
    assert frames[3].active == ("review",) and "accept" in frames[3].completed
    assert frames[3].overdue == ()  # accepted on 09-18, review due 09-22
    assert frames[4].overdue == ("review",)  # claimed on 09-23
    assert frames[-1].active == () and frames[-1].status == "completed"
    assert {"certificate", "done", "decide", "review"} <= set(frames[-1].completed)

    # The data as it stood: what had been submitted up to each event, nothing later.
    assert frames[0].data["department"] == "town-a" and "outcome" not in frames[0].data
    assert frames[1].data["outcome"] == "supplement" and frames[1].data["missing"] == ["营业执照"]
    assert frames[2].data["supplied"] == ["营业执照"]
    assert frames[3].data["outcome"] == "accept" and "decision" not in frames[3].data
    assert frames[-1].data["certificate_no"] == "JY2026-001"


def test_current_state_marks_the_active_task_overdue_and_an_error(county, clock):
    case = world.start(county, "town-a")
    world.complete(county, case.id, "accept", "clerk.a", {"outcome": "accept"})
    assert replay.current_state(county, case.id)["overdue"] == []
    clock.advance(timedelta(days=10))
    state = replay.current_state(county, case.id)
    assert state["active"] == ["review"] and state["overdue"] == ["review"]

    county.repository.deploy_file(world.FIXTURES / "failing_script.bpmn", "designer")
    broken = county.runtime.start("failing_script", {"department": "town-a", "units": 0}, started_by="clerk.a")
    with pytest.raises(Exception, match="compute_fee"):
        county.tasks.complete(world.task_of(county, broken.id).id, "clerk.a", {})
    state = replay.current_state(county, broken.id)
    assert state["status"] == "error" and state["errored"] == ["compute_fee"]
    frames = replay.replay(county, broken.id)
    assert frames[-1].errored == ("compute_fee",) and frames[0].errored == ()


def test_terminated_case_has_nothing_active(county):
    case = world.start(county, "town-a")
    county.runtime.terminate(case.id, actor="sup.a", reason="申请人撤回")
    last = replay.replay(county, case.id)[-1]
    assert (last.status, last.active, last.note) == ("terminated", (), "申请人撤回")
