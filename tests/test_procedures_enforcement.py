"""End to end: the enforcement case (processes/enforcement_case.bpmn, 行政处罚法 2021), one test per legal path.
The test clock starts on Friday 2026-09-18 09:00 (see test_procedures_approval for the working days around it)."""

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
    letters,
    local,
    open_tasks,
    procedures_fixture,  # noqa: F401 - the `procedures` fixture
    route,
    send,
    status,
)

OFFICERS = [{"name": "王强", "cert_no": "13010001"}, {"name": "李明", "cert_no": "13010002"}]
GENERAL = {"procedure": "general", "facts": "未取得食品经营许可销售预包装食品", "penalty_kind": "fine",
           "proposed_fine": 5000}  # fmt: skip
REPORT = {"facts": "未取得食品经营许可从事食品销售，货值金额3000元", "legal_basis": "食品安全法第122条",
          "proposed_penalties": ["fine", "confiscate_income"], "proposed_fine": 50000, "legal_review_grounds": [],
          "complex_or_serious": False, "hearing_eligible": True}  # fmt: skip
NOTICE = {"notice_no": "县市监罚告〔2026〕8号", "delivered_on": "2026-09-22", "hearing_right_told": True,
          "content_told": True}  # fmt: skip
DECIDE = {"outcome": "penalty", "decision_no": "县市监罚〔2026〕8号", "penalties": ["fine"], "fine_amount": 50000}
DELIVER = {"delivered_on": "2026-09-24", "delivery": "direct", "bank": "示范县农商银行"}


def _later(clock, hours: int = 2) -> None:
    clock.advance(timedelta(hours=hours))


def _filed(engine, clock, code="SCJG-CF-001", party=None):
    case = apply(engine, code, party)
    _later(clock)
    complete(engine, case.id, "preliminary", GENERAL)
    _later(clock)
    complete(engine, case.id, "file_case", {"filed": True, "case_no": "县市监立〔2026〕8号"}, "leader.qian")
    _later(clock)
    return case


def _investigated(engine, clock, report=None, **kw):
    case = _filed(engine, clock, **kw)
    complete(engine, case.id, "investigate", {"officers": OFFICERS, "certificates_shown": True,
                                              "records": ["现场笔录", "询问笔录"], "evidence_held": False})  # fmt: skip
    _later(clock)
    complete(engine, case.id, "investigation_report", report or REPORT)
    _later(clock)
    complete(engine, case.id, "notice_of_rights", NOTICE)
    return case


def _pay_in_time(engine, clock, case):
    complete(engine, case.id, "deliver_decision", DELIVER)
    send(engine, case.id, "payment_received", {"paid_amount": 50000, "paid_on": "2026-09-30",
                                               "bank_receipt_no": "NS20260930001"})  # fmt: skip


def _close(engine, case, reason="paid"):
    complete(engine, case.id, "close_case", {"closing_reason": reason}, "leader.qian")
    complete(engine, case.id, "archive", {"file_no": "2026-CF-008", "pages": 36, "archived_on": "2026-10-09"})
    assert status(engine, case.id) == "completed"
    assert route(engine, case.id)[-1] == "archived"


def test_enforcement_summary_procedure_on_the_spot(procedures, clock):
    engine = procedures
    case = apply(engine, "CGJ-CF-001", PERSON)
    assert case.receipt_no.startswith("QXCGJ-20260918-")
    complete(engine, case.id, "preliminary", {"procedure": "summary", "facts": "占道设置广告牌", "penalty_kind": "fine",
                                              "proposed_fine": 200})  # fmt: skip
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["summary_decision"]
    complete(engine, case.id, "summary_decision", {"decision_no": "城管简〔2026〕001", "officers": OFFICERS,
                                                   "penalty_kind": "fine", "fine_amount": 200,
                                                   "certificate_shown": True, "rights_told": True})  # fmt: skip
    assert data(engine, case.id)["payment_due"] == end_of(date(2026, 10, 8)).isoformat()  # 15 d end in 国庆
    send(engine, case.id, "payment_received", {"paid_amount": 200, "paid_on": "2026-09-21"})
    _close(engine, case)
    path = route(engine, case.id)
    assert "file_case" not in path and "summary_decision" in path
    assert data(engine, case.id)["late_surcharge"] == 0
    assert "case" not in clocks(engine, case.id)  # no filing, no 90-day clock


def test_enforcement_summary_refused_above_the_cap(procedures, clock):
    engine = procedures
    case = apply(engine, "CGJ-CF-001", PERSON)
    complete(engine, case.id, "preliminary", {"procedure": "summary", "facts": "占道设置广告牌", "penalty_kind": "fine",
                                              "proposed_fine": 500})  # fmt: skip
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["file_case"]  # a person: 200 yuan at most (Art 51)


def test_enforcement_general_procedure_without_hearing(procedures, clock):
    engine = procedures
    case = _investigated(engine, clock)
    assert clocks(engine, case.id)["case"].statutory == "90d"
    assert engine.deadlines.stage(case.id, "case").statutory_due == end_of(date(2026, 12, 17))
    assert data(engine, case.id)["statement_due"] == end_of(date(2026, 9, 24)).isoformat()  # 5 wd
    advance_to(engine, clock, local(date(2026, 9, 25)))  # the period lapses without statement
    assert "no_statement" in route(engine, case.id)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]  # no Art 58 ground: no legal review
    complete(engine, case.id, "decide", DECIDE, "leader.qian")
    assert clocks(engine, case.id)["case"].ended_at is not None
    _pay_in_time(engine, clock, case)
    _close(engine, case)
    path = route(engine, case.id)
    assert "hearing" not in path and "legal_review" not in path
    assert path.index("notice_of_rights") < path.index("decide")


def test_enforcement_with_hearing_then_legal_review(procedures, clock):
    engine = procedures
    case = _investigated(engine, clock)
    _later(clock)
    send(engine, case.id, "statement_received", {"statement": "初次违法，请求从轻", "hearing_requested": True})
    complete(engine, case.id, "hearing_notice", {"notice_on": "2026-09-18", "hearing_date": "2026-09-24",
                                                 "location": "县市场监管局听证室", "chair": "法规科 周某"})  # fmt: skip
    # 7 working days after 09-18 end on 09-29: 09-24 is too early, the notice must be issued again.
    assert ("hearing_notice_short", "case") in alerts(engine, case.id)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing_notice"]
    complete(engine, case.id, "hearing_notice", {"notice_on": "2026-09-18", "hearing_date": "2026-09-29",
                                                 "location": "县市场监管局听证室", "chair": "法规科 周某"})  # fmt: skip
    advance_to(engine, clock, local(date(2026, 9, 29)))
    complete(engine, case.id, "hearing", {"party_attended": True, "transcript_signed": True}, "legal.zhou")
    # a hearing was held on major rights: legal review is required (Art 58(2))
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["legal_review"]
    complete(engine, case.id, "legal_review", {"legal_review_result": "pass", "reviewer_qualified": True}, "legal.zhou")
    complete(engine, case.id, "decide", {**DECIDE, "fine_amount": 40000}, "leader.qian")
    assert data(engine, case.id)["hearing_held"] is True
    assert ("penalty_above_notice", "case") not in alerts(engine, case.id)


def test_enforcement_hearing_waived_by_absence(procedures, clock):
    engine = procedures
    case = _investigated(engine, clock)
    send(engine, case.id, "statement_received", {"hearing_requested": True})
    complete(engine, case.id, "hearing_notice", {"notice_on": "2026-09-18", "hearing_date": "2026-09-30",
                                                 "location": "听证室", "chair": "法规科 周某"})  # fmt: skip
    complete(engine, case.id, "hearing", {"party_attended": False})
    assert "hearing_absent" in route(engine, case.id)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]  # no hearing held: no Art 58(2) review
    complete(engine, case.id, "decide", DECIDE, "leader.qian")
    recorded = data(engine, case.id)  # read after the decision: the case-limit watcher branch has joined
    assert recorded["hearing_waived"] is True and recorded["hearing_held"] is False


def test_enforcement_legal_review_blocks_the_decision_until_passed(procedures, clock):
    engine = procedures
    case = _investigated(engine, clock, report={**REPORT, "legal_review_grounds": ["complex"],
                                                "complex_or_serious": True})  # fmt: skip
    send(engine, case.id, "statement_received", {"statement": "无异议", "hearing_requested": False})
    complete(engine, case.id, "legal_review", {"legal_review_result": "fail", "reviewer_qualified": True,
                                               "issues": ["违法所得计算依据不足"]})  # fmt: skip
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["rectify"]
    complete(engine, case.id, "rectify", {"actions": ["补充调取进货台账"]})
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["legal_review"]  # not the decision
    complete(engine, case.id, "legal_review", {"legal_review_result": "pass", "reviewer_qualified": True})
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["collective_discussion"]  # complex: Art 57(2)
    complete(engine, case.id, "collective_discussion", {"held_on": "2026-09-18", "conclusion": "同意处罚",
                                                        "participants": ["钱局长", "孙副局长", "李副局长"]})  # fmt: skip
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]
    path = route(engine, case.id)
    assert path.count("legal_review") == 2 and path.index("rectify") < path.index("collective_discussion")


@pytest.mark.parametrize(("paid_on", "surcharge"), [("2026-10-18", 12000), ("2026-11-20", 50000)])
def test_enforcement_late_payment_surcharge_capped(procedures, clock, paid_on, surcharge):
    engine = procedures
    case = _investigated(engine, clock)
    advance_to(engine, clock, local(date(2026, 9, 25)))
    complete(engine, case.id, "decide", DECIDE, "leader.qian")
    complete(engine, case.id, "deliver_decision", DELIVER)
    due = data(engine, case.id)["payment_due"]
    assert due == end_of(date(2026, 10, 10)).isoformat()  # 15 d from 09-25; 10-10 is a working Saturday (调休)
    advance_to(engine, clock, local(date(2026, 10, 11)))
    assert "payment_overdue" in route(engine, case.id)
    send(engine, case.id, "payment_received", {"paid_amount": 50000 + surcharge, "paid_on": paid_on})
    recorded = data(engine, case.id)
    assert recorded["late_surcharge"] == surcharge  # 3 % a day (Art 72), never above the fine
    assert recorded["payment_complete"] is True
    _close(engine, case)


def test_enforcement_unpaid_goes_to_court_enforcement(procedures, clock):
    engine = procedures
    case = _investigated(engine, clock)
    advance_to(engine, clock, local(date(2026, 9, 25)))
    complete(engine, case.id, "decide", DECIDE, "leader.qian")
    complete(engine, case.id, "deliver_decision", DELIVER)
    advance_to(engine, clock, local(date(2027, 4, 12)))
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["apply_enforcement"]
    complete(engine, case.id, "apply_enforcement", {"urged_on": "2027-04-12", "applied_on": "2027-04-23",
                                                    "court": "示范县人民法院", "amount": 100000})  # fmt: skip
    _close(engine, case, "enforcement_applied")


def test_enforcement_ninety_day_limit_alert(procedures, clock):
    engine = procedures
    case = _filed(engine, clock)
    # promised 60 d (catalog) due 11-17, statutory 90 d due 12-17
    advance_to(engine, clock, local(date(2026, 11, 18)))
    assert ("red", "case") in alerts(engine, case.id)
    assert ("red_plus", "case") not in alerts(engine, case.id)
    advance_to(engine, clock, local(date(2026, 12, 18)))
    assert ("red_plus", "case") in alerts(engine, case.id)
    assert letters(engine, case.id)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["investigate"]
