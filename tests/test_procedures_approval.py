"""End to end: the licence procedure (processes/approval.bpmn, 行政许可法) from catalog items, one test per
legal path. The test clock starts on Friday 2026-09-18 09:00; working days then run 09-20 (调休), 09-21 … 09-24,
09-28 … 09-30, 10-08 … (中秋 and 国庆 rest days are not counted)."""

from __future__ import annotations

from datetime import date, timedelta

from engine import rules
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
    stops,
    task_of,
    workdays_after,
)

START = date(2026, 9, 18)
ACCEPT = {"accept_outcome": "accept"}
REVIEW_OK = {"recommendation": "approve", "needs_verification": False, "special_procedure": "none",
             "extension_requested": False}  # fmt: skip
DELIVER = {"certificate_no": "JY13301000001", "delivered_on": "2026-09-24", "delivery": "on_site"}


def _later(clock, hours: int = 2) -> None:
    clock.advance(timedelta(hours=hours))  # people take time: no step happens in the same instant


def _accepted(engine, clock, code="SCJG-XK-001"):
    case = apply(engine, code)
    _later(clock)
    complete(engine, case.id, "accept", ACCEPT, "clerk.li")
    _later(clock)
    return case


def test_approval_instant_item_decided_on_the_spot(procedures, clock):
    engine = procedures
    case = apply(engine, "SCJG-DJ-001", PERSON)
    assert case.receipt_no == "QXSCJG-20260918-00001"  # department, date, sequence
    _later(clock, 1)
    complete(engine, case.id, "accept", ACCEPT, "clerk.li")
    _later(clock, 1)
    complete(engine, case.id, "decide_on_spot", {"decision": "approve", "certificate_no": "GT-0001"}, "clerk.li")
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["deliver"]
    complete(engine, case.id, "deliver", {**DELIVER, "delivered_on": "2026-09-18"}, "clerk.li")

    assert status(engine, case.id) == "completed"
    path = route(engine, case.id)
    assert "decide_on_spot" in path and "review" not in path and "decide" not in path
    assert path[-1] == "approved_end"
    recorded = data(engine, case.id)
    assert recorded["decision"] == "approve" and recorded["handling"] == "instant"
    assert recorded["applicant"]["name"] == "张三"
    the_clocks = clocks(engine, case.id)
    assert the_clocks["case"].statutory == "3wd" and the_clocks["case"].ended_at is not None
    assert the_clocks["deliver"].statutory == "10wd"


def test_approval_promised_item_approved(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock)
    case_clock = clocks(engine, case.id)["case"]
    assert (case_clock.statutory, case_clock.promised) == ("20wd", "10wd")
    assert workdays_after(START, 10) == date(2026, 10, 9)
    assert engine.deadlines.stage(case.id, "case").promised_due == end_of(date(2026, 10, 9))
    assert engine.deadlines.stage(case.id, "case").statutory_due == end_of(date(2026, 10, 22))

    advance_to(engine, clock, local(date(2026, 9, 21)))
    complete(engine, case.id, "review", REVIEW_OK, "reviewer.zhao")
    advance_to(engine, clock, local(date(2026, 9, 22)))
    complete(engine, case.id, "decide", {"decision": "approve", "certificate_no": "JY13301000001",
                                         "valid_until": "2031-09-21"}, "approver.qian")  # fmt: skip
    deliver_clock = clocks(engine, case.id)["deliver"]
    assert deliver_clock.statutory == "10wd"  # 行政许可法 Art 44
    assert engine.deadlines.stage(case.id, "deliver").statutory_due == end_of(workdays_after(date(2026, 9, 22), 10))
    advance_to(engine, clock, local(date(2026, 9, 24)))
    complete(engine, case.id, "deliver", DELIVER, "clerk.li")

    assert status(engine, case.id) == "completed"
    path = route(engine, case.id)
    assert [p for p in path if p in ("accept", "review", "decide", "deliver", "approved_end")] == [
        "accept", "review", "decide", "deliver", "approved_end"]  # fmt: skip
    recorded = data(engine, case.id)
    assert recorded["certificate_no"] == "JY13301000001" and recorded["acceptance_receipt"]["outcome"] == "accept"
    assert recorded["limits"]["case"]["basis"] == "《中华人民共和国行政许可法》第四十二条"
    assert clocks(engine, case.id)["case"].ended_at is not None
    assert not [a for a in alerts(engine, case.id) if a[0] in ("red", "red_plus")]


def test_approval_one_time_notice_then_supplemented(procedures, clock):
    engine = procedures
    item_materials = [m.name for m in engine.catalog.get("SCJG-XK-001").materials]
    case = apply(engine, "SCJG-XK-001", provided=item_materials[:2])
    missing = data(engine, case.id)["missing_materials"]
    assert missing == item_materials[2:4]  # required ones not provided (the 5th is optional)
    _later(clock)
    complete(engine, case.id, "accept", {"accept_outcome": "supplement", "missing_materials": missing}, "clerk.li")
    assert open_tasks(engine, case.id) == []
    notice = data(engine, case.id)["supplement_notice"]
    assert notice["items"] == missing
    assert notice["due"] == end_of(date(2026, 10, 19)).isoformat()  # 30 days, 10-18 is a Sunday
    assert "case" not in clocks(engine, case.id)  # the limit runs from acceptance (Art 42)

    advance_to(engine, clock, local(date(2026, 9, 28)))
    send(engine, case.id, "supplement_received", {"supplemented": missing})
    complete(engine, case.id, "accept", ACCEPT, "clerk.li")
    assert clocks(engine, case.id)["case"].started_at == local(date(2026, 9, 28)).astimezone(clock.now().tzinfo)
    assert data(engine, case.id)["notice_count"] == 1
    assert ("repeat_notice", "accept") not in alerts(engine, case.id)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["review"]


def test_approval_second_notice_raises_an_alert(procedures, clock):
    engine = procedures
    case = apply(engine, "SCJG-XK-001", provided=[])
    for _ in range(2):
        _later(clock)
        complete(engine, case.id, "accept", {"accept_outcome": "supplement", "missing_materials": ["营业执照"]})
        _later(clock)
        if data(engine, case.id)["notice_count"] == 1:
            send(engine, case.id, "supplement_received")
    assert ("repeat_notice", "accept") in alerts(engine, case.id)


def test_approval_supplement_lapsed(procedures, clock):
    engine = procedures
    case = apply(engine, "WSJK-XK-001", provided=[])
    _later(clock)
    complete(
        engine, case.id, "accept", {"accept_outcome": "supplement", "missing_materials": ["公共场所卫生许可申请表"]}
    )
    advance_to(engine, clock, local(date(2026, 10, 19)))
    assert status(engine, case.id) == "running"  # due at the end of 10-19
    advance_to(engine, clock, local(date(2026, 10, 20)))
    assert status(engine, case.id) == "completed"
    assert route(engine, case.id)[-2:] == ["supplement_lapsed", "lapsed"]
    assert data(engine, case.id)["closed_reason"] == "supplement_lapsed"


def test_approval_refused_naming_the_competent_agency(procedures, clock):
    engine = procedures
    case = apply(engine, "CGJ-XK-001")
    _later(clock)
    complete(engine, case.id, "accept", {"accept_outcome": "refuse", "refuse_reason": "not_in_remit",
                                         "competent_agency": "示范县自然资源和规划局"})  # fmt: skip
    assert status(engine, case.id) == "completed"
    assert route(engine, case.id)[-2:] == ["refuse_notice", "refused"]
    refusal = data(engine, case.id)["refusal"]
    assert refusal["reason"] == "not_in_remit" and refusal["competent_agency"] == "示范县自然资源和规划局"
    assert refusal["issued_at"].startswith("2026-09-18T11:00:00")


def test_approval_denied_with_reasons_and_appeal_rights(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock, "WLJ-XK-001")
    complete(engine, case.id, "review", {**REVIEW_OK, "recommendation": "deny"})
    _later(clock)
    complete(
        engine, case.id, "decide", {"decision": "deny", "reasons": "场所位于学校周边200米内（娱乐场所管理条例第7条）"}
    )
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["deliver_denial"]
    complete(engine, case.id, "deliver_denial", {"decision_no": "县文旅不许〔2026〕1号", "delivered_on": "2026-09-18",
                                                 "delivery": "on_site", "appeal_rights_notified": True})  # fmt: skip
    assert route(engine, case.id)[-1] == "denied_end"
    assert data(engine, case.id)["reasons"].startswith("场所位于学校周边")


def test_approval_extended_once_with_head_approval(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock)
    complete(engine, case.id, "review", {**REVIEW_OK, "extension_requested": True,
                                         "extension_reason": "需征求利害关系人意见"})  # fmt: skip
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["approve_extension"]
    assert open_tasks(engine, case.id)[0].candidate_groups == ["leader@qx-scjg"]
    _later(clock)
    complete(engine, case.id, "approve_extension", {"extension_approved": True, "extension_approver": "qian.wei"})
    case_clock = clocks(engine, case.id)["case"]
    assert (case_clock.extension, case_clock.extension_approved_by) == ("10wd", "qian.wei")
    assert engine.deadlines.stage(case.id, "case").statutory_due == end_of(date(2026, 11, 5))  # 20 + 10 wd
    assert data(engine, case.id)["extension_notice"]["reason"] == "需征求利害关系人意见"
    _later(clock)
    complete(engine, case.id, "decide", {"decision": "approve", "certificate_no": "JY1"})
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["deliver"]


def test_approval_hearing_stops_the_clock(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock, "WLJ-XK-001")
    complete(engine, case.id, "review", {**REVIEW_OK, "special_procedure": "hearing"})
    _later(clock)
    complete(engine, case.id, "clock_stop_notice", {"notice_no": "听告〔2026〕3号", "notified_on": "2026-09-18",
                                                    "expected_days": 20, "delivery": "on_site"})  # fmt: skip
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing"]
    (stop,) = stops(engine, case.id)
    assert stop.reason == "hearing" and stop.ended_at is None
    assert engine.deadlines.stage(case.id, "case").stopped
    advance_to(engine, clock, local(date(2026, 10, 12)))  # held after the holidays
    complete(engine, case.id, "hearing", {"notice_on": "2026-09-21", "held_on": "2026-10-12", "chair": "法规科 周某",
                                          "transcript_signed": True})  # fmt: skip
    (stop,) = stops(engine, case.id)
    assert stop.ended_at is not None
    # 09-20 … 10-12 holds 10 working days (09-21 … 10-12 counted from the stop day); the due date moves by them.
    due = engine.deadlines.stage(case.id, "case").statutory_due
    assert due > end_of(date(2026, 10, 22)) + timedelta(days=13)
    assert ("pause_not_in_catalog", "case") not in alerts(engine, case.id)  # hearing is listed for the item
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]


def test_approval_overdue_raises_yellow_then_red_then_supervision_letter(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock)
    # review: promised 6 wd (due 09-28), statutory 14 wd (due 10-13); case: promised 10 wd (10-09), statutory 20 wd.
    advance_to(engine, clock, local(date(2026, 9, 24)))
    assert ("yellow", "review") in alerts(engine, case.id)
    assert ("red", "review") not in alerts(engine, case.id)
    advance_to(engine, clock, local(date(2026, 9, 29)))
    assert ("red", "review") in alerts(engine, case.id)
    advance_to(engine, clock, local(date(2026, 10, 10)))
    assert ("red", "case") in alerts(engine, case.id)
    assert ("red_plus", "case") not in alerts(engine, case.id)
    advance_to(engine, clock, local(date(2026, 10, 23)))
    raised = alerts(engine, case.id)
    assert ("red_plus", "review") in raised and ("red_plus", "case") in raised
    assert letters(engine, case.id), "red plus must raise a supervision letter (督办函)"
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["review"]  # the case still waits for its review


def test_approval_received_and_accepted_at_once_raises_no_acceptance_warning(procedures, clock):
    """The acceptance stage (promised 1 wd) is not about to expire when it begins: it turns yellow on its last
    day, not the second the application is received or accepted."""
    engine = procedures
    case = apply(engine, "SCJG-XK-001")
    assert engine.deadlines.stage(case.id, "accept").colour == "green"
    clock.advance(timedelta(seconds=1))
    advance_to(engine, clock, clock.now())
    assert alerts(engine, case.id) == []
    complete(engine, case.id, "accept", ACCEPT, "clerk.li")
    assert alerts(engine, case.id) == []

    waiting = apply(engine, "SCJG-XK-001")  # not accepted: warned on its due day 09-20 (调休 working day)
    advance_to(engine, clock, local(date(2026, 9, 19), 23))
    assert alerts(engine, waiting.id) == []
    advance_to(engine, clock, local(date(2026, 9, 20)))
    assert alerts(engine, waiting.id) == [("yellow", "accept")]


def test_approval_deemed_accepted_when_no_answer_within_five_workdays(procedures, clock):
    engine = procedures
    case = apply(engine, "SCJG-XK-001")
    advance_to(engine, clock, local(date(2026, 9, 25)))  # 5 wd after 09-18 end on 09-24
    assert ("red_plus", "accept") in alerts(engine, case.id)
    assert data(engine, case.id)["accept_outcome"] == "deemed_accepted"
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["review"]
    assert "deemed_accepted" in route(engine, case.id)


def test_approval_unlisted_fee_raises_an_alert(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock)
    complete(engine, case.id, "review", REVIEW_OK)
    _later(clock)
    complete(engine, case.id, "decide", {"decision": "approve", "certificate_no": "JY2"})
    _later(clock)
    complete(engine, case.id, "deliver", {**DELIVER, "fee_charged": 50})
    assert ("fee_not_in_catalog", "deliver") in alerts(engine, case.id)


def test_approval_review_task_is_due_with_its_stage_and_coloured_in_the_inbox(procedures, clock):
    """The review task has no dueDate of its own: it is due when its stage clock is (promised 6 wd), and the
    inbox counts it under the colour its badge shows."""
    engine = procedures
    engine.identity.add_user("scjg.reviewer", "correct-horse-9", "qx-scjg", ["reviewer"])
    case = _accepted(engine, clock)
    review = task_of(engine, case.id, "review")
    assert review.due_at == end_of(date(2026, 9, 28))  # 6 working days after 09-18
    reviewer = engine.identity.actor("scjg.reviewer")

    def counts():
        return engine.tasks.inbox(reviewer, per_page=0)[2]

    assert counts()["green"] == 1
    advance_to(engine, clock, local(date(2026, 9, 29)))
    assert counts()["red"] == 1 and counts()["none"] == 0


# -- the hearing (行政许可法第46-48条)
HEARING_NOTICE = {
    "notice_no": "听告〔2026〕5号",
    "notified_on": "2026-09-18",
    "expected_days": 25,
    "delivery": "on_site",
}
ON_REQUEST = {**REVIEW_OK, "special_procedure": "hearing", "hearing_basis": "art47", "reviewer": "赵审查"}


def _hearing_right_told(engine, clock):
    """A review that finds major interests of the applicant and others at stake (Art 47): the right is told."""
    case = _accepted(engine, clock, "WLJ-XK-001")
    complete(engine, case.id, "review", ON_REQUEST, "reviewer.zhao")
    _later(clock)
    complete(engine, case.id, "clock_stop_notice", HEARING_NOTICE, "reviewer.zhao")
    return case


def _hearing_requested(engine, clock, on: date = date(2026, 9, 21)):
    case = _hearing_right_told(engine, clock)
    advance_to(engine, clock, local(on))
    send(engine, case.id, "hearing_requested", {"requested_by": "李四（利害关系人）"})
    return case


def test_approval_hearing_requested_held_within_limits(procedures, clock):
    engine = procedures
    case = _hearing_right_told(engine, clock)
    assert open_tasks(engine, case.id) == []  # waiting for a request
    assert data(engine, case.id)["hearing_request_due"] == end_of(workdays_after(START, 5)).isoformat()  # 09-24
    advance_to(engine, clock, local(date(2026, 9, 21)))
    send(engine, case.id, "hearing_requested", {"requested_by": "李四（利害关系人）"})

    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing_notice"]
    hearing_clock = clocks(engine, case.id)["hearing"]
    assert (hearing_clock.statutory, hearing_clock.basis) == ("20wd", "行政许可法第47条第1款")
    due = end_of(workdays_after(date(2026, 9, 21), 20))
    assert engine.deadlines.stage(case.id, "hearing").statutory_due == due
    assert data(engine, case.id)["hearing_due"] == due.isoformat()
    assert stops(engine, case.id) == []  # arranging is not the hearing itself

    _later(clock)
    assert workdays_after(date(2026, 9, 22), 7) == date(2026, 10, 9)  # the earliest lawful hearing day
    complete(engine, case.id, "hearing_notice", {"notified_on": "2026-09-22", "hearing_date": "2026-10-12",
                                                 "location": "县文旅局三楼听证室", "chair": "法规科 周某"})  # fmt: skip
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing"]
    assert clocks(engine, case.id)["hearing"].ended_at is not None
    (stop,) = stops(engine, case.id)
    assert stop.reason == "hearing" and stop.ended_at is None  # Art 45: the hearing is not counted

    advance_to(engine, clock, local(date(2026, 10, 12)))
    complete(engine, case.id, "hearing", {"notice_on": "2026-09-22", "held_on": "2026-10-12", "chair": "法规科 周某",
                                          "transcript_signed": True})  # fmt: skip
    assert stops(engine, case.id)[0].ended_at is not None
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]
    recorded = data(engine, case.id)
    assert recorded["hearing_requested"] and recorded["hearing_held"] and not recorded["hearing_waived"]
    assert recorded["requested_by"] == "李四（利害关系人）"
    path = route(engine, case.id)
    assert [p for p in path if p.startswith("hearing")] == [
        "hearing_kind", "hearing_right_notice", "hearing_request_in", "hearing_request_recorded", "hearing_notice",
        "hearing_notice_check", "hearing_notice_gw", "hearing", "hearing_checks"]  # fmt: skip
    assert not [a for a in alerts(engine, case.id) if a[1] == "hearing" or a[0] in rules.RULES]


def test_approval_hearing_right_lapses_without_request(procedures, clock):
    engine = procedures
    case = _hearing_right_told(engine, clock)
    advance_to(engine, clock, local(date(2026, 9, 24), 20))  # the 5th working day, still open
    assert status(engine, case.id) == "running" and open_tasks(engine, case.id) == []
    advance_to(engine, clock, local(date(2026, 9, 25)))

    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]  # goes on without a hearing
    assert data(engine, case.id)["hearing_waived"] is True
    assert not data(engine, case.id)["hearing_held"]
    path = route(engine, case.id)
    assert "hearing_request_timeout" in path and "hearing_right_lapsed" in path
    assert "hearing" not in path and "hearing_notice" not in path
    assert stops(engine, case.id) == [] and "hearing" not in clocks(engine, case.id)


def hearing_alerts(engine, case_id) -> list[tuple[str, str]]:
    return [a for a in alerts(engine, case_id) if a[1] == "hearing"]


def test_approval_hearing_notice_too_short_raises_alert(procedures, clock):
    engine = procedures
    case = _hearing_requested(engine, clock)
    _later(clock)
    notice = {"notified_on": "2026-09-22", "location": "县文旅局三楼听证室", "chair": "法规科 周某"}
    complete(engine, case.id, "hearing_notice", {**notice, "hearing_date": "2026-09-28"})  # 3 working days
    assert hearing_alerts(engine, case.id) == [("hearing_notice_short", "hearing")]
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing_notice"]  # notify again
    assert stops(engine, case.id) == []
    _later(clock)
    complete(engine, case.id, "hearing_notice", {**notice, "hearing_date": "2026-10-09"})  # exactly 7 wd
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing"]
    assert hearing_alerts(engine, case.id) == [("hearing_notice_short", "hearing")]  # raised once


def test_approval_hearing_chaired_by_the_reviewer_raises_alert(procedures, clock):
    engine = procedures
    case = _hearing_requested(engine, clock)
    _later(clock)
    complete(engine, case.id, "hearing_notice", {"notified_on": "2026-09-22", "hearing_date": "2026-10-12",
                                                 "location": "县文旅局三楼听证室", "chair": "赵审查"})  # fmt: skip
    assert ("hearing_chair_conflict", "hearing") in alerts(engine, case.id)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing_notice"]  # another chair is named


def test_approval_hearing_by_the_agency_is_checked_when_held(procedures, clock):
    """Art 46 (the default): no request is awaited, the hearing stops the clock at once; the notice period and the
    chair are checked against what the hearing record says."""
    engine = procedures
    case = _accepted(engine, clock, "WLJ-XK-001")
    complete(engine, case.id, "review", {**REVIEW_OK, "special_procedure": "hearing", "reviewer": "赵审查"})
    _later(clock)
    complete(engine, case.id, "clock_stop_notice", HEARING_NOTICE)
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing"]
    advance_to(engine, clock, local(date(2026, 10, 12)))
    complete(engine, case.id, "hearing", {"notice_on": "2026-10-08", "held_on": "2026-10-12", "chair": "赵审查",
                                          "transcript_signed": True})  # fmt: skip
    raised = alerts(engine, case.id)
    assert ("hearing_notice_short", "hearing") in raised and ("hearing_chair_conflict", "hearing") in raised
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]  # recorded, the case goes on


def test_approval_hearing_not_arranged_within_20_workdays_is_escalated(procedures, clock):
    engine = procedures
    case = _hearing_requested(engine, clock)
    due = workdays_after(date(2026, 9, 21), 20)
    advance_to(engine, clock, local(due))
    assert ("yellow", "hearing") in alerts(engine, case.id)
    assert ("red_plus", "hearing") not in alerts(engine, case.id)
    advance_to(engine, clock, local(due + timedelta(days=1)))
    assert ("red_plus", "hearing") in alerts(engine, case.id)
    assert letters(engine, case.id), "a missed statutory hearing limit raises a supervision letter (督办函)"
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["hearing_notice"]
