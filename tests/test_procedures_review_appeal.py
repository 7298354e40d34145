"""End to end: the review appeal (processes/review_appeal.bpmn, 行政复议法 2023), one test per legal path. The test
clock starts on Friday 2026-09-18 09:00; 3/5/7/10-day periods are working days, the others calendar days (Art 88)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.procedures_kit import (
    PERSON,
    advance_to,
    alerts,
    apply,
    clocks,
    complete,
    data,
    end_of,
    local,
    open_tasks,
    procedures_fixture,  # noqa: F401 - the `procedures` fixture
    route,
    send,
    status,
    stops,
)

ITEM = "SFJ-FY-001"
ACCEPT = {"accept_outcome": "accept", "within_period": True, "procedure": "normal", "major_complex": False,
          "respondent": "示范县市场监督管理局"}  # fmt: skip
COPY = {"sent_on": "2026-09-21", "respondent": "示范县市场监督管理局", "channel": "direct"}
EXAMINE = {"opinions_heard": True, "suspension_needed": False, "extension_requested": False,
           "mediation_possible": False}  # fmt: skip
DECIDE = {"decision_type": "revoke", "decision_no": "示县复决〔2026〕12号", "collective": False}
DELIVER = {"delivered_on": "2026-10-12", "delivery": "direct"}


def _later(clock, hours: int = 2) -> None:
    clock.advance(timedelta(hours=hours))


def _accepted(engine, clock, **accept):
    case = apply(engine, ITEM, PERSON)
    _later(clock)
    complete(engine, case.id, "acceptance_review", {**ACCEPT, **accept}, "appeal.chu")
    _later(clock)
    return case


def _replied(engine, clock, **accept):
    case = _accepted(engine, clock, **accept)
    complete(engine, case.id, "send_copy", COPY, "appeal.chu")
    _later(clock)
    send(engine, case.id, "reply_received", {"reply": "原行政行为认定事实清楚", "evidence": ["现场笔录"]})
    return case


def _decide_and_deliver(engine, case, decision=None):
    complete(engine, case.id, "decide", decision or DECIDE, "leader.chu")
    complete(engine, case.id, "deliver", DELIVER, "appeal.chu")
    assert status(engine, case.id) == "completed"
    assert route(engine, case.id)[-1] == "decided_end"


def test_review_appeal_deemed_accepted_when_review_lapses(procedures, clock):
    engine = procedures
    case = apply(engine, ITEM, PERSON)
    assert case.receipt_no.startswith("QXSFJ-20260918-")
    advance_to(engine, clock, local(date(2026, 9, 24)))
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["acceptance_review"]
    advance_to(engine, clock, local(date(2026, 9, 25)))  # 5 wd after 09-18 end on 09-24 (Art 30(3))
    assert "deemed_accepted" in route(engine, case.id)
    assert ("red_plus", "accept") in alerts(engine, case.id)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["send_copy"]
    assert clocks(engine, case.id)["case"].statutory == "60d"


def test_review_appeal_abandoned_after_supplement_lapse(procedures, clock):
    engine = procedures
    case = apply(engine, ITEM, PERSON)
    complete(
        engine, case.id, "acceptance_review", {"accept_outcome": "supplement", "missing_items": ["复议请求不明确"]}
    )
    assert data(engine, case.id)["supplement_due"] == end_of(date(2026, 10, 9)).isoformat()  # 10 wd (Art 31, 88)
    advance_to(engine, clock, local(date(2026, 10, 10)))
    assert status(engine, case.id) == "completed"
    assert route(engine, case.id)[-2:] == ["abandoned", "abandoned_end"]


def test_review_appeal_supplemented_then_accepted(procedures, clock):
    engine = procedures
    case = apply(engine, ITEM, PERSON)
    complete(engine, case.id, "acceptance_review", {"accept_outcome": "supplement", "missing_items": ["身份证明"]})
    advance_to(engine, clock, local(date(2026, 9, 28)))
    send(engine, case.id, "supplement_received", {"items": ["身份证明"]})
    complete(engine, case.id, "acceptance_review", ACCEPT)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["send_copy"]


def test_review_appeal_normal_procedure_with_reply(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock)
    assert engine.deadlines.stage(case.id, "case").statutory_due == end_of(date(2026, 11, 17))  # 60 d (Art 62)
    assert clocks(engine, case.id)["copy"].statutory == "7wd"  # Art 48
    complete(engine, case.id, "send_copy", COPY)
    assert data(engine, case.id)["reply_due"] == end_of(date(2026, 10, 9)).isoformat()  # 10 wd after 09-18
    send(engine, case.id, "reply_received", {"reply": "认定事实清楚", "evidence": ["现场笔录"]})
    complete(engine, case.id, "examine", EXAMINE)
    _decide_and_deliver(engine, case)
    recorded = data(engine, case.id)
    assert recorded["reply"]["reply"] == "认定事实清楚" and recorded["reply_missing"] is False
    assert recorded["decision_type"] == "revoke"
    assert clocks(engine, case.id)["case"].ended_at is not None


def test_review_appeal_reply_missing_is_treated_as_no_evidence(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock)
    complete(engine, case.id, "send_copy", COPY)
    advance_to(engine, clock, local(date(2026, 10, 10)))
    assert "no_reply" in route(engine, case.id)
    assert ("reply_missing", "case") in alerts(engine, case.id)
    complete(engine, case.id, "examine", EXAMINE)
    complete(engine, case.id, "decide", {**DECIDE, "decision_type": "uphold"}, "leader.chu")
    # Art 70: without a reply the act has no evidence; upholding it is refused and the decision goes back
    assert ("decision_against_art70", "case") in alerts(engine, case.id)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]
    _decide_and_deliver(engine, case, {**DECIDE, "decision_type": "confirm_illegal"})


def test_review_appeal_simplified_procedure(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock, procedure="simplified", simplified_ground="small_penalty")
    case_clock = clocks(engine, case.id)["case"]
    assert (case_clock.statutory, case_clock.promised) == ("30d", "20d")
    assert engine.deadlines.stage(case.id, "case").statutory_due == end_of(date(2026, 10, 19))  # 30 d; 10-18 Sunday
    assert clocks(engine, case.id)["copy"].statutory == "3wd"  # Art 54
    complete(engine, case.id, "send_copy", COPY)
    assert data(engine, case.id)["reply_due"] == end_of(date(2026, 9, 24)).isoformat()  # 5 wd after 09-18
    send(engine, case.id, "reply_received", {"reply": "无异议"})
    complete(engine, case.id, "examine", EXAMINE)
    _decide_and_deliver(engine, case, {**DECIDE, "decision_type": "change"})
    assert "simplified_limits" in route(engine, case.id)


def test_review_appeal_mediation_binds(procedures, clock):
    engine = procedures
    case = _replied(engine, clock)
    complete(engine, case.id, "examine", {**EXAMINE, "mediation_possible": True})
    complete(engine, case.id, "mediation", {"mediation_result": "agreement", "document_no": "示县复调〔2026〕1号"})
    assert status(engine, case.id) == "completed"
    assert route(engine, case.id)[-1] == "mediated_end"
    assert "decide" not in route(engine, case.id)
    assert clocks(engine, case.id)["case"].ended_at is not None


def test_review_appeal_settlement_withdrawn(procedures, clock):
    engine = procedures
    case = _replied(engine, clock)
    complete(engine, case.id, "examine", {**EXAMINE, "mediation_possible": True})
    complete(engine, case.id, "mediation", {"mediation_result": "settlement_withdrawal"})
    assert route(engine, case.id)[-1] == "withdrawn_end"
    assert data(engine, case.id)["outcome"] == "withdrawn"


def test_review_appeal_extension_with_approval_and_notice(procedures, clock):
    engine = procedures
    case = _replied(engine, clock)
    complete(engine, case.id, "examine", {**EXAMINE, "extension_requested": True, "extension_reason": "需现场勘验"})
    complete(engine, case.id, "approve_extension", {"extension_approved": True, "extension_approver": "chu.jing"},
             "leader.chu")  # fmt: skip
    assert clocks(engine, case.id)["case"].extension == "30d"
    assert engine.deadlines.stage(case.id, "case").statutory_due == end_of(date(2026, 12, 17))  # 60 + 30 d
    _decide_and_deliver(engine, case)
    assert data(engine, case.id)["extension_notice"]["reason"] == "需现场勘验"


def test_review_appeal_hearing_and_suspension_stop(procedures, clock):
    engine = procedures
    case = _replied(engine, clock, major_complex=True)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing_notice"]  # mandatory (Art 50)
    complete(engine, case.id, "hearing_notice", {"notice_on": "2026-09-18", "hearing_date": "2026-09-28",
                                                 "chair": "复议科 褚某", "hearing_officers": ["甲", "乙"]})  # fmt: skip
    complete(engine, case.id, "hearing", {"applicant_attended": True, "respondent_head_attended": True})
    complete(
        engine, case.id, "examine", {**EXAMINE, "suspension_needed": True, "suspension_reason": "申请人丧失行为能力"}
    )
    assert [s.reason for s in stops(engine, case.id)] == ["suspension"]  # Art 39: the clock stops
    # the hearing (Art 49-50) ran inside the limit, and the item tells the parties so: 行政复议法 (2023) provides
    # no hearing pause, only the suspension of Art 39
    assert data(engine, case.id)["clock_stops"] == ["suspension"]
    advance_to(engine, clock, local(date(2026, 10, 20)))
    complete(engine, case.id, "suspension", {"notified_on": "2026-09-18", "resumed_on": "2026-10-20",
                                             "resume_notified": True})  # fmt: skip
    assert stops(engine, case.id)[0].ended_at is not None
    assert engine.deadlines.stage(case.id, "case").statutory_due > end_of(date(2026, 11, 17)) + timedelta(days=30)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["examine"]


@pytest.mark.parametrize(
    "decision_type",
    [
        "change",
        "revoke",
        "confirm_illegal",
        "order_performance",
        "confirm_void",
        "uphold",
        "reject_request",
        "agreement_liability",
        "compensation",
    ],
)
def test_review_appeal_each_decision_type(procedures, clock, decision_type):
    engine = procedures
    case = _replied(engine, clock)
    complete(engine, case.id, "examine", EXAMINE)
    extra = {"order_performance": {"redo_within_days": 30}, "compensation": {"compensation": 12000}}
    _decide_and_deliver(engine, case, {**DECIDE, "decision_type": decision_type, **extra.get(decision_type, {})})
    assert data(engine, case.id)["decision_type"] == decision_type
