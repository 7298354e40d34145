"""Messages and signals between cases (issue 12 item 2): a message goes to the cases waiting for its name and
correlation key, else starts a case of the process with that message start, else is kept as undeliverable; a
signal reaches every waiting case and starts every process with that signal start; a case's own throw reaches
other cases after its step commits, each receiver in a step of its own; who may send is the policy's."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from sqlalchemy import delete, func, select

from engine.errors import Forbidden, InvalidData
from engine.scheduler import TimerScheduler
from engine.store.messaging import EventMessage, EventSubscription
from tests.conftest import ROOT
from tests.people import PASSWORD, role_user, seed_people
from webui import create_app

ADMIN = role_user("admin")


@pytest.fixture
def world(engine, deploy):
    seed_people(engine)
    for name in ("msg_payment_wait.bpmn", "msg_inquiry_start.bpmn", "msg_calendar_start.bpmn",
                 "msg_bank_notice.bpmn"):  # fmt: skip
        deploy(name)
    return engine


def _admin(engine):
    return engine.identity.actor(ADMIN)


def _waiting_case(engine, notice_no: str):
    return engine.runtime.start("msg_payment_wait", {"notice_no": notice_no, "fine": 1500})


def _open(engine, case_id: str) -> list[str]:
    return sorted(t.bpmn_id for t in engine.tasks.query(case_id=case_id))


def test_a_message_reaches_only_the_case_waiting_with_its_key(world):
    first, second = _waiting_case(world, "N-001"), _waiting_case(world, "N-002")
    view = world.messaging.send(_admin(world), "message", "fine_paid", key="N-002", data={"paid_on": "2026-10-09"})

    assert view["status"] == "delivered"
    assert [(o["receipt_no"], o["outcome"]) for o in view["outcome"]] == [(second.receipt_no, "delivered")]
    assert _open(world, second.id) == ["confirm"] and _open(world, first.id) == []
    assert world.runtime.describe(second.id)["data"]["paid_on"] == "2026-10-09"
    trail = world.history.trail(second.id)
    assert [(e.action, e.actor, e.payload.get("message")) for e in trail][-1] == (
        "message_received",
        ADMIN,
        "fine_paid",
    )
    # the case no longer waits for the payment: the same message again has nobody to go to
    again = world.messaging.send(_admin(world), "message", "fine_paid", key="N-002")
    assert again["status"] == "undeliverable"


def test_a_catch_without_a_correlation_key_waits_for_the_receipt_number(world, deploy):
    deploy("supplement_wait.bpmn")
    case = world.runtime.start("supplement_wait", {})
    other = world.runtime.start("supplement_wait", {})
    view = world.messaging.send(_admin(world), "message", "supplement_received", key=case.receipt_no,
                                data={"supplied": ["营业执照"]})  # fmt: skip
    assert [o["receipt_no"] for o in view["outcome"]] == [case.receipt_no]
    assert _open(world, case.id) == ["check"] and _open(world, other.id) == []


def test_an_undeliverable_message_is_kept_and_listed(world):
    view = world.messaging.send(_admin(world), "message", "fine_paid", key="N-404", data={"amount": 1})
    assert view["status"] == "undeliverable" and view["outcome"] == []
    listed = world.messaging.list(status="undeliverable")
    assert [(m["id"], m["name"], m["key"], m["data"]) for m in listed] == [(view["id"], "fine_paid", "N-404",
                                                                            {"amount": 1})]  # fmt: skip


def test_a_message_start_event_starts_a_case_with_the_payload(world):
    view = world.messaging.send(_admin(world), "message", "inquiry_filed", data={"question": "营业执照怎么办"})
    [started] = view["outcome"]
    assert started["outcome"] == "started" and started["process"] == "msg_inquiry_start"
    case = world.runtime.describe(started["case_id"])
    assert case["data"]["question"] == "营业执照怎么办"
    assert _open(world, started["case_id"]) == ["answer"]


def test_a_signal_reaches_every_waiting_case_and_starts_its_processes(world):
    cases = [_waiting_case(world, f"N-{n}") for n in range(3)]
    view = world.messaging.send(_admin(world), "signal", "calendar_changed", data={"year": 2027})
    outcomes = sorted((o["outcome"], o.get("process") or "") for o in view["outcome"])
    assert outcomes == [("delivered", ""), ("delivered", ""), ("delivered", ""), ("started", "msg_calendar_start")]
    for case in cases:
        data = world.runtime.describe(case.id)["data"]
        assert data["recounted"] is True and data["year"] == 2027
    with world.db.session() as session:
        left = session.scalar(select(func.count()).select_from(EventSubscription).where(
            EventSubscription.kind == "signal"))  # fmt: skip
    assert left == 0  # each case moved past its signal wait


def test_a_message_a_case_throws_reaches_the_waiting_case_after_its_step(world):
    waiting = _waiting_case(world, "N-777")
    notice = world.runtime.start("msg_bank_notice", {})
    [record] = world.tasks.query(case_id=notice.id)
    clerk = role_user("clerk")
    world.tasks.claim(record.id, clerk)
    world.tasks.complete(record.id, clerk, {"notice_no": "N-777", "paid_on": "2026-10-10", "amount": 1500})

    assert world.runtime.describe(notice.id)["status"] == "completed"
    data = world.runtime.describe(waiting.id)["data"]
    assert (data["paid_on"], data["amount"]) == ("2026-10-10", 1500)
    assert _open(world, waiting.id) == ["confirm"]
    [sent] = world.messaging.list()
    assert (sent["source_case_id"], sent["source_element"], sent["key"], sent["status"]) == (
        notice.id,
        "tell_case",
        "N-777",
        "delivered",
    )
    assert sent["data"] == {"paid_on": "2026-10-10", "amount": 1500}  # the payload property, not the whole case


def test_a_step_that_fails_after_its_throw_sends_nothing(world):
    waiting = _waiting_case(world, "N-888")
    notice = world.runtime.start("msg_bank_notice", {})
    [record] = world.tasks.query(case_id=notice.id)
    clerk = role_user("clerk")
    world.tasks.claim(record.id, clerk)
    with pytest.raises(Exception, match="amount must be positive"):
        world.tasks.complete(record.id, clerk, {"notice_no": "N-888", "paid_on": "2026-10-10", "amount": 0})
    with world.db.session() as session:
        assert session.scalar(select(func.count()).select_from(EventMessage)) == 0
    assert _open(world, waiting.id) == []


def test_only_an_administrator_may_send_and_bad_input_is_named(world):
    with pytest.raises(Forbidden, match="admin"):
        world.messaging.send(world.identity.actor(role_user("clerk")), "message", "fine_paid", key="N-1")
    with pytest.raises(InvalidData, match="a signal is broadcast: it has no correlation key"):
        world.messaging.send(_admin(world), "signal", "calendar_changed", key="x")
    with pytest.raises(InvalidData, match="needs a name"):
        world.messaging.send(_admin(world), "message", "  ")
    with world.db.session() as session:
        assert session.scalar(select(func.count()).select_from(EventMessage)) == 0


def _govflow(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", "--db", db_url, *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)  # fmt: skip


def test_the_command_line_sends_messages_and_signals_as_a_user(world, database_url):
    waiting = _waiting_case(world, "N-900")
    done = _govflow(database_url, "message", "fine_paid", "--key", "N-900", "--data", '{"amount": 200}',
                    "--as", ADMIN)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"delivered to {waiting.receipt_no}" in done.stdout
    refused = _govflow(database_url, "signal", "calendar_changed", "--as", role_user("clerk"))
    assert refused.returncode != 0 and "admin" in refused.stderr
    kept = _govflow(database_url, "message", "fine_paid", "--key", "N-901", "--as", ADMIN)
    assert "could not be delivered" in kept.stdout and "it is kept as #" in kept.stdout
    listed = _govflow(database_url, "messages", "--status", "undeliverable", "--json")
    assert [m["key"] for m in json.loads(listed.stdout)] == ["N-901"]


def _api_token(client, user: str) -> str:
    answer = client.post("/api/v1/token", json={"username": user, "password": PASSWORD})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["token"]


def test_the_api_sends_messages_and_signals(world, tmp_path):
    waiting = _waiting_case(world, "N-950")
    client = create_app(world, {"TESTING": True, "SECRET_KEY": "test", "INSTANCE_DIR": str(tmp_path)}).test_client()
    headers = {"Authorization": f"Bearer {_api_token(client, ADMIN)}"}
    answer = client.post("/api/v1/messages", json={"name": "fine_paid", "key": "N-950", "data": {"amount": 9}},
                         headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["outcome"][0]["receipt_no"] == waiting.receipt_no
    signal = client.post("/api/v1/signals", json={"name": "calendar_changed"}, headers=headers)
    assert signal.status_code == 200 and signal.get_json()["status"] == "delivered"
    bad = client.post("/api/v1/signals", json={"name": "calendar_changed", "key": "x"}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "key"
    denied = client.post("/api/v1/messages", json={"name": "fine_paid", "key": "N-950"},
                         headers={"Authorization": f"Bearer {_api_token(client, role_user('clerk'))}"})  # fmt: skip
    assert denied.status_code == 403


def test_a_worker_delivers_what_a_stopped_process_left_pending(world):
    """A process that stopped between a step's commit and the delivery leaves the message pending in the
    outbox: the timer worker's next round delivers it."""
    waiting = _waiting_case(world, "N-321")
    with world.db.write_session() as session, session.begin():
        session.add(EventMessage(kind="message", name="fine_paid", correlation_key="N-321", payload={"amount": 5},
                                 sent_by="system", sent_at=world.now(), status="pending", outcome=[]))  # fmt: skip
    with TimerScheduler(world, sweep_seconds=0.2):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _open(world, waiting.id) != ["confirm"]:
            time.sleep(0.05)
    assert _open(world, waiting.id) == ["confirm"]
    assert [m["status"] for m in world.messaging.list()] == ["delivered"]


def test_init_records_the_waits_of_cases_kept_before_they_were_recorded(world, database_url):
    waiting = _waiting_case(world, "N-654")
    with world.db.write_session() as session, session.begin():
        session.execute(delete(EventSubscription))  # as after the upgrade that added the table
    assert world.messaging.send(_admin(world), "message", "fine_paid", key="N-654")["status"] == "undeliverable"
    done = _govflow(database_url, "init")
    assert done.returncode == 0, done.stderr
    assert "1 waiting cases given their message and signal waits" in done.stdout
    assert world.messaging.send(_admin(world), "message", "fine_paid", key="N-654")["status"] == "delivered"
    assert _open(world, waiting.id) == ["confirm"]


def test_behind_an_event_based_gateway_the_case_waits_with_its_receipt_number(world, deploy):
    deploy("statement_wait.bpmn")
    case = world.runtime.start("statement_wait", {"party": "某餐饮店", "fine": 2000})
    [prepare] = world.tasks.query(case_id=case.id)
    world.tasks.complete(prepare.id, "officer1", {"fine": 1500, "draft": "决定书草稿"})
    with world.db.session() as session:
        waits = sorted(session.execute(select(EventSubscription.name, EventSubscription.correlation_key)
                                       .where(EventSubscription.case_id == case.id)).all())  # fmt: skip
    assert ("statement_received", case.receipt_no) in waits
    view = world.messaging.send(_admin(world), "message", "statement_received", key=case.receipt_no,
                                data={"statement": "请求从轻处罚"})  # fmt: skip
    assert view["status"] == "delivered"
    assert world.runtime.describe(case.id)["data"]["statement"] == "请求从轻处罚"
