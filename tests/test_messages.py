"""Messages: behind an event-based gateway and into a receive task, their fields become case data; the case's data
shows the newest values even while another branch waits with an older copy."""

from __future__ import annotations


def test_message_behind_event_gateway_and_receive_task(engine, deploy):
    deploy("statement_wait.bpmn")
    case = engine.runtime.start("statement_wait", {"party": "某餐饮店", "fine": 2000})
    [prepare] = engine.tasks.query(case_id=case.id)
    engine.tasks.complete(prepare.id, "officer1", {"fine": 1500, "draft": "决定书草稿"})
    # The statement branch still waits with the data it had at the split: the newest values must win.
    assert engine.runtime.describe(case.id)["data"]["fine"] == 1500

    engine.runtime.send_message(case.id, "statement_received", {"statement": "请求从轻处罚"})
    data = engine.runtime.describe(case.id)["data"]
    assert data["statement"] == "请求从轻处罚"
    assert data["fine"] == 1500 and data["draft"] == "决定书草稿"

    engine.runtime.send_message(case.id, "payment_received", {"paid_on": "2026-10-09", "amount": 1500})
    view = engine.runtime.describe(case.id)
    assert view["status"] == "completed"
    assert view["data"]["paid_on"] == "2026-10-09" and view["data"]["statement"] == "请求从轻处罚"
    trail = engine.history.trail(case.id)
    assert [e.payload["message"] for e in trail if e.action == "message_received"] == [
        "statement_received",
        "payment_received",
    ]
    assert "waived" not in {bpmn_id for e in trail for bpmn_id in e.payload.get("completed", [])}
