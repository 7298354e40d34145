"""The procedure rules (engine.rules) on the real procedures in processes/: each unlawful situation that can arise
in a procedure is driven through the engine services and raises its alert citing the article; the lawful walks of
the same procedures raise none. The test clock starts on Friday 2026-09-18 09:00 (working days then: 09-20 调休,
09-21 … 09-24, 09-28 … 09-30, 10-08 … — see test_procedures_approval).

Unlawful steps that the shipped forms refuse (on every path) are entered as under an edited procedure whose forms
no longer ask for what the law requires: the rules are then the only guard, which is what supervision must catch."""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from engine import rules
from engine.forms import FormLibrary
from engine.store.time_limits import SupervisionAlert
from tests.procedures_kit import (
    PERSON,
    PROCESSES,
    advance_to,
    apply,
    complete,
    local,
    open_tasks,
    procedures_fixture,  # noqa: F401 - the `procedures` fixture
    send,
    task_of,
)

DELIVER = {"certificate_no": "JY13301000001", "delivered_on": "2026-09-24", "delivery": "on_site"}
REVIEW_OK = {"recommendation": "approve", "needs_verification": False, "special_procedure": "none",
             "extension_requested": False}  # fmt: skip


def rule_alerts(engine, case_id) -> dict[tuple[str, str], str]:
    """{(rule code, stage): message} of the case's procedure-rule alerts (time colours left out)."""
    with engine.db.session() as session:
        rows = session.scalars(
            select(SupervisionAlert)
            .where(SupervisionAlert.case_id == case_id, SupervisionAlert.kind.in_(list(rules.RULES)))
            .order_by(SupervisionAlert.id)
        )
        return {(a.kind, a.stage): a.message for a in rows}


# What makes a form ask for a field (or a field depend on another): left out of the edited procedure's forms.
_DEMANDS = ("required", "allOf", "anyOf", "oneOf", "if", "then", "else", "dependentRequired", "dependentSchemas")


@functools.cache
def _lax_forms(source: Path) -> Path:
    """A copy of the forms that declare the same fields but demand none of them (an edited procedure)."""
    target = Path(tempfile.mkdtemp(prefix="lax-forms-")) / "forms"
    shutil.copytree(source, target)
    for path in target.rglob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({k: v for k, v in schema.items() if k not in _DEMANDS}), encoding="utf-8")
    return target


def trusted(engine, case_id, bpmn_id: str, data: dict, user: str = "officer.wang") -> None:
    """Complete a task under forms edited to ask for nothing: the data still has to be the form's fields."""
    shipped = engine.forms
    engine.forms = FormLibrary(_lax_forms(shipped.forms_dir))
    try:
        engine.tasks.complete(task_of(engine, case_id, bpmn_id).id, user, data)
    finally:
        engine.forms = shipped


def _later(clock, hours: float = 2) -> None:
    clock.advance(timedelta(hours=hours))


# ------------------------------------------------------------------------------------------------ approval ----
def _accepted(engine, clock, code="SCJG-XK-001"):
    case = apply(engine, code)
    _later(clock)
    complete(engine, case.id, "accept", {"accept_outcome": "accept"}, "clerk.li")
    _later(clock)
    return case


def _decided(engine, clock, code="SCJG-XK-001"):
    case = _accepted(engine, clock, code)
    complete(engine, case.id, "review", REVIEW_OK, "reviewer.zhao")
    _later(clock)
    complete(engine, case.id, "decide", {"decision": "approve", "certificate_no": "JY1"}, "approver.qian")
    _later(clock)
    return case


def test_approval_lawful_walks_raise_no_rule_alert(procedures, clock):
    engine = procedures
    # one notice, then accepted; a hearing (listed for the item) stops the clock; one lawful extension (+10 wd)
    full = apply(engine, "WLJ-XK-001", provided=[])
    _later(clock)
    complete(engine, full.id, "accept", {"accept_outcome": "supplement", "missing_materials": ["营业执照"]})
    _later(clock)
    send(engine, full.id, "supplement_received")
    complete(engine, full.id, "accept", {"accept_outcome": "accept"}, "clerk.li")
    _later(clock)
    complete(engine, full.id, "review", {**REVIEW_OK, "special_procedure": "hearing", "extension_requested": True,
                                         "extension_reason": "需征求利害关系人意见"})  # fmt: skip
    _later(clock)
    complete(engine, full.id, "clock_stop_notice", {"notice_no": "听告〔2026〕3号", "notified_on": "2026-09-18",
                                                    "expected_days": 20, "delivery": "on_site"})  # fmt: skip
    advance_to(engine, clock, local(date(2026, 10, 12)))
    complete(engine, full.id, "hearing", {"notice_on": "2026-09-21", "held_on": "2026-10-12", "chair": "法规科 周某",
                                          "transcript_signed": True})  # fmt: skip
    _later(clock)
    complete(engine, full.id, "approve_extension", {"extension_approved": True, "extension_approver": "qian.wei"})
    _later(clock)
    complete(engine, full.id, "decide", {"decision": "approve", "certificate_no": "WL1"})
    _later(clock)
    complete(engine, full.id, "deliver", {**DELIVER, "delivered_on": "2026-10-13", "fee_charged": 0})
    # an instant item decided on the spot within minutes (行政许可法第34条第2款)
    instant = apply(engine, "SCJG-DJ-001", PERSON)
    _later(clock, 0.05)
    complete(engine, instant.id, "accept", {"accept_outcome": "accept"}, "clerk.li")
    _later(clock, 0.05)
    complete(engine, instant.id, "decide_on_spot", {"decision": "approve", "certificate_no": "GT-1"}, "clerk.li")
    complete(engine, instant.id, "deliver", DELIVER, "clerk.li")
    # refused naming the competent agency; denied with reasons
    refused = apply(engine, "CGJ-XK-001")
    complete(engine, refused.id, "accept", {"accept_outcome": "refuse", "refuse_reason": "not_in_remit",
                                            "competent_agency": "示范县自然资源和规划局"})  # fmt: skip
    denied = _accepted(engine, clock, "CGJ-XK-002")
    complete(engine, denied.id, "review", {**REVIEW_OK, "recommendation": "deny"})
    _later(clock)
    complete(engine, denied.id, "decide", {"decision": "deny", "reasons": "不符合城市容貌标准"})
    complete(engine, denied.id, "deliver_denial", {"decision_no": "县城管不许〔2026〕1号", "delivered_on": "2026-10-13",
                                                   "delivery": "on_site", "appeal_rights_notified": True})  # fmt: skip
    for case in (full, instant, refused, denied):
        assert engine.runtime.describe(case.id)["status"] == "completed"
        assert rule_alerts(engine, case.id) == {}


def test_approval_refusal_and_denial_without_reasons(procedures, clock):
    engine = procedures
    bare = apply(engine, "SCJG-XK-001")
    trusted(engine, bare.id, "accept", {"accept_outcome": "refuse", "opinion": "不予受理"})
    found = rule_alerts(engine, bare.id)
    assert list(found) == [("refuse_without_reason", "accept")]
    assert "行政许可法第32条、第38条第2款" in found[("refuse_without_reason", "accept")]

    no_agency = apply(engine, "SCJG-XK-001")
    trusted(engine, no_agency.id, "accept", {"accept_outcome": "refuse", "refuse_reason": "not_in_remit"})
    assert "未告知申请人向哪个行政机关申请" in rule_alerts(engine, no_agency.id)[("refuse_without_reason", "accept")]

    denied = _accepted(engine, clock)
    complete(engine, denied.id, "review", {**REVIEW_OK, "recommendation": "deny"})
    _later(clock)
    trusted(engine, denied.id, "decide", {"decision": "deny", "opinion": "不予许可"})
    assert list(rule_alerts(engine, denied.id)) == [("refuse_without_reason", "decide")]


def test_approval_second_missing_materials_notice_is_one_alert(procedures, clock):
    engine = procedures
    case = apply(engine, "SCJG-XK-001", provided=[])
    for _ in range(2):
        _later(clock)
        complete(engine, case.id, "accept", {"accept_outcome": "supplement", "missing_materials": ["营业执照"]})
        _later(clock)
        if open_tasks(engine, case.id) == []:
            send(engine, case.id, "supplement_received")
    # the diagram raises it too (same code and stage): the supervisor sees one alert
    assert list(rule_alerts(engine, case.id)) == [("repeat_notice", "accept")]


def test_approval_review_over_its_own_limit(procedures, clock):
    engine = procedures
    case = _accepted(engine, clock)
    advance_to(engine, clock, local(date(2026, 9, 29)))  # review: promised 6 wd, due 09-28
    complete(engine, case.id, "review", REVIEW_OK, "reviewer.zhao")
    found = rule_alerts(engine, case.id)
    assert list(found) == [("stage_over_limit", "review")]
    assert (
        "行政许可法第42条" in found[("stage_over_limit", "review")] and "6 个工作日" in found[("stage_over_limit", "review")]
    )
    advance_to(engine, clock, local(date(2026, 10, 12)))  # decide: promised 3 wd, due 10-09; so is the case
    complete(engine, case.id, "decide", {"decision": "approve", "certificate_no": "JY1"}, "approver.qian")
    assert list(rule_alerts(engine, case.id)) == [("stage_over_limit", "review"), ("stage_over_limit", "decide")]
    with engine.db.session() as session:  # the whole case running over is the red alert's, not a stage's
        kinds = session.scalars(
            select(SupervisionAlert.kind).where(SupervisionAlert.case_id == case.id, SupervisionAlert.stage == "case")
        ).all()
    assert "red" in kinds


def test_approval_certificate_later_than_ten_workdays_after_the_decision(procedures, clock):
    engine = procedures
    case = _decided(engine, clock)  # decided on Friday 2026-09-18
    advance_to(engine, clock, local(date(2026, 10, 13), 10))  # the 13th working day
    complete(engine, case.id, "deliver", {**DELIVER, "delivered_on": "2026-10-13"}, "clerk.li")
    found = rule_alerts(engine, case.id)
    assert list(found) == [("late_certificate", "deliver")]  # its stage running over is the same fault
    assert "第13个工作日" in found[("late_certificate", "deliver")]
    assert "行政许可法第44条" in found[("late_certificate", "deliver")]


def test_approval_decided_implausibly_fast(procedures, clock):
    engine = procedures
    case = apply(engine, "SCJG-XK-001")
    _later(clock)
    complete(engine, case.id, "accept", {"accept_outcome": "accept"}, "clerk.li")
    _later(clock, 0.05)
    complete(engine, case.id, "review", REVIEW_OK, "reviewer.zhao")
    _later(clock, 0.05)
    complete(engine, case.id, "decide", {"decision": "approve", "certificate_no": "JY1"}, "approver.qian")
    found = rule_alerts(engine, case.id)
    assert list(found) == [("implausibly_fast", "decide")]
    assert (
        "6 分钟" in found[("implausibly_fast", "decide")]
        and "行政许可法第42条" in found[("implausibly_fast", "decide")]
    )


def test_approval_fee_not_in_the_catalog_is_one_alert(procedures, clock):
    engine = procedures
    case = _decided(engine, clock)
    complete(engine, case.id, "deliver", {**DELIVER, "fee_charged": 50})
    assert list(rule_alerts(engine, case.id)) == [("fee_not_in_catalog", "deliver")]  # diagram and rule agree


# -------------------------------------------------------------------------------------------- joint review ----
JOINT, CO = "ZRZY-XK-001", ("qx-xf", "qx-sthj", "qx-zjj")


def _dispatched(engine, clock, **kw):
    case = apply(engine, JOINT, **kw)
    _later(clock)
    complete(engine, case.id, "accept", {"accept_outcome": "accept"}, "clerk.zhou")
    _later(clock)
    return case


def _co_opinion(engine, case_id, department):
    task = next(t for t in open_tasks(engine, case_id) if t.candidate_groups == [f"reviewer@{department}"])
    engine.tasks.complete(task.id, f"reviewer.{department}", {"verdict": "agree", "opinion": "同意"})


def _joint_decided(engine, clock, case):
    for department in CO:
        _co_opinion(engine, case.id, department)
    _later(clock)
    complete(engine, case.id, "lead_review", {"meeting_needed": False, "extension_requested": False}, "approver.zhou")
    _later(clock)
    complete(engine, case.id, "decide", {"decision": "approve", "certificate_no": "建字第2026001号"}, "approver.zhou")
    _later(clock)


def test_joint_review_lawful_walk_raises_no_rule_alert(procedures, clock):
    engine = procedures
    case = _dispatched(engine, clock)
    _joint_decided(engine, clock, case)
    complete(engine, case.id, "deliver", DELIVER, "clerk.zhou")
    assert engine.runtime.describe(case.id)["status"] == "completed"
    assert rule_alerts(engine, case.id) == {}


def test_joint_review_second_notice_late_co_department_and_fee(procedures, clock):
    engine = procedures
    noticed = apply(engine, JOINT, provided=[])
    for _ in range(2):
        complete(engine, noticed.id, "accept", {"accept_outcome": "supplement", "missing_materials": ["规划图"]})
        _later(clock)
        send(engine, noticed.id, "supplement_received")
    found = rule_alerts(engine, noticed.id)
    assert list(found) == [("repeat_notice", "accept")] and "第2次" in found[("repeat_notice", "accept")]

    late = _dispatched(engine, clock)
    _co_opinion(engine, late.id, "qx-xf")
    _co_opinion(engine, late.id, "qx-sthj")
    advance_to(engine, clock, local(date(2026, 9, 25)))  # co-review: promised 5 wd, due 09-24
    _co_opinion(engine, late.id, "qx-zjj")
    assert list(rule_alerts(engine, late.id)) == [("stage_over_limit", "co_review:qx-zjj")]

    charged = _dispatched(engine, clock)
    _joint_decided(engine, clock, charged)
    complete(engine, charged.id, "deliver", {**DELIVER, "fee_charged": 30}, "clerk.zhou")
    found = rule_alerts(engine, charged.id)
    assert list(found) == [("fee_not_in_catalog", "deliver")]  # no check in the diagram: the rule catches it
    assert "免费" in found[("fee_not_in_catalog", "deliver")] and "第59条" in found[("fee_not_in_catalog", "deliver")]


# -------------------------------------------------------------------------------------------- review appeal ----
APPEAL = "SFJ-FY-001"
ACCEPT_APPEAL = {"accept_outcome": "accept", "within_period": True, "procedure": "normal", "major_complex": False,
                 "respondent": "示范县市场监督管理局"}  # fmt: skip
EXAMINE = {"opinions_heard": True, "suspension_needed": False, "extension_requested": False,
           "mediation_possible": False}  # fmt: skip


def _replied(engine, clock):
    case = apply(engine, APPEAL, PERSON)
    _later(clock)
    complete(engine, case.id, "acceptance_review", ACCEPT_APPEAL, "appeal.chu")
    _later(clock)
    complete(engine, case.id, "send_copy", {"sent_on": "2026-09-18", "respondent": "示范县市场监督管理局",
                                            "channel": "direct"})  # fmt: skip
    _later(clock)
    send(engine, case.id, "reply_received", {"reply": "认定事实清楚"})
    return case


def _suspended(engine, clock, examine: dict):
    case = _replied(engine, clock)
    trusted(engine, case.id, "examine", {**EXAMINE, "suspension_needed": True, **examine})
    advance_to(engine, clock, local(date(2026, 10, 12)))
    return case


def test_review_appeal_lawful_walk_raises_no_rule_alert(procedures, clock):
    engine = procedures
    case = _suspended(engine, clock, {"suspension_reason": "申请人丧失参加复议的行为能力"})
    complete(engine, case.id, "suspension", {"notified_on": "2026-09-18", "resumed_on": "2026-10-12",
                                             "resume_notified": True})  # fmt: skip
    complete(engine, case.id, "examine", {**EXAMINE, "extension_requested": True, "extension_reason": "需现场勘验"})
    complete(engine, case.id, "approve_extension", {"extension_approved": True, "extension_approver": "chu.jing"})
    _later(clock)
    complete(engine, case.id, "decide", {"decision_type": "revoke", "decision_no": "示县复决〔2026〕12号"})
    complete(engine, case.id, "deliver", {"delivered_on": "2026-10-12", "delivery": "direct"})
    assert engine.runtime.describe(case.id)["status"] == "completed"
    assert rule_alerts(engine, case.id) == {}


def test_review_appeal_refusal_without_reason_and_second_notice(procedures, clock):
    engine = procedures
    refused = apply(engine, APPEAL, PERSON)
    trusted(engine, refused.id, "acceptance_review", {"accept_outcome": "refuse", "opinion": "不予受理"})
    found = rule_alerts(engine, refused.id)
    assert list(found) == [("refuse_without_reason", "accept")]
    assert "行政复议法第30条" in found[("refuse_without_reason", "accept")]

    noticed = apply(engine, APPEAL, PERSON)
    for _ in range(2):
        complete(
            engine, noticed.id, "acceptance_review", {"accept_outcome": "supplement", "missing_items": ["身份证明"]}
        )
        _later(clock)
        send(engine, noticed.id, "supplement_received")
    found = rule_alerts(engine, noticed.id)
    assert list(found) == [("repeat_notice", "accept")] and "行政复议法第31条" in found[("repeat_notice", "accept")]


def test_review_appeal_suspension_without_ground_or_written_notice(procedures, clock):
    engine = procedures
    groundless = _suspended(engine, clock, {})
    found = rule_alerts(engine, groundless.id)
    assert list(found) == [("clock_stop_without_reason", "suspension")]
    assert "第39条" in found[("clock_stop_without_reason", "suspension")]

    unnoticed = _suspended(engine, clock, {"suspension_reason": "案件涉及法律适用问题，需有权机关作出解释"})
    assert rule_alerts(engine, unnoticed.id) == {}  # a lawful ground: nothing yet
    trusted(engine, unnoticed.id, "suspension", {"resumed_on": "2026-10-12", "opinion": "恢复审理"})
    found = rule_alerts(engine, unnoticed.id)
    assert list(found) == [("clock_stop_without_reason", "suspension")]
    assert "未书面告知" in found[("clock_stop_without_reason", "suspension")]


# ------------------------------------------------------------------------------------------------ enforcement ----
OFFICERS = [{"name": "王强", "cert_no": "13010001"}, {"name": "李明", "cert_no": "13010002"}]
REPORT = {"facts": "未取得食品经营许可从事食品销售", "legal_basis": "食品安全法第122条",
          "proposed_penalties": ["fine", "confiscate_income"], "proposed_fine": 50000, "legal_review_grounds": [],
          "complex_or_serious": False, "hearing_eligible": True}  # fmt: skip
NOTICE = {"notice_no": "县市监罚告〔2026〕8号", "delivered_on": "2026-09-22", "hearing_right_told": True,
          "content_told": True}  # fmt: skip
PENALTY = {"outcome": "penalty", "decision_no": "县市监罚〔2026〕8号", "penalties": ["fine"], "fine_amount": 50000}
PASS = {"legal_review_result": "pass", "reviewer_qualified": True}


def _noticed(engine, clock, report=None):
    case = apply(engine, "SCJG-CF-001")
    complete(engine, case.id, "preliminary", {"procedure": "general", "facts": "无证经营", "penalty_kind": "fine",
                                              "proposed_fine": 5000})  # fmt: skip
    _later(clock)
    complete(engine, case.id, "file_case", {"filed": True, "case_no": "县市监立〔2026〕8号"}, "leader.qian")
    _later(clock)
    complete(engine, case.id, "investigate", {"officers": OFFICERS, "certificates_shown": True,
                                              "records": ["现场笔录"], "evidence_held": False})  # fmt: skip
    _later(clock)
    complete(engine, case.id, "investigation_report", {**REPORT, **(report or {})})
    _later(clock)
    if any(t.bpmn_id == "notice_of_rights" for t in open_tasks(engine, case.id)):
        complete(engine, case.id, "notice_of_rights", NOTICE)
        _later(clock)
    return case


def _heard(engine, clock, case):
    send(engine, case.id, "statement_received", {"statement": "请求从轻", "hearing_requested": True})
    complete(engine, case.id, "hearing_notice", {"notice_on": "2026-09-18", "hearing_date": "2026-09-30",
                                                 "location": "听证室", "chair": "法规科 周某"})  # fmt: skip
    complete(engine, case.id, "hearing", {"party_attended": True, "transcript_signed": True}, "legal.zhou")


def test_enforcement_lawful_walks_raise_no_rule_alert(procedures, clock):
    engine = procedures
    heard = _noticed(engine, clock)
    _heard(engine, clock, heard)
    complete(engine, heard.id, "legal_review", PASS, "legal.zhou")  # a hearing was held: Art 58(1)2
    complete(engine, heard.id, "decide", {**PENALTY, "fine_amount": 40000}, "leader.qian")
    quiet = _noticed(engine, clock)
    advance_to(engine, clock, local(date(2026, 9, 25)))  # the statement period lapses
    complete(engine, quiet.id, "decide", {**PENALTY, "penalties": ["fine", "confiscate_income"]}, "leader.qian")
    complete(engine, quiet.id, "deliver_decision", {"delivered_on": "2026-09-25", "delivery": "direct",
                                                    "bank": "示范县农商银行"})  # fmt: skip
    for case in (heard, quiet):
        assert rule_alerts(engine, case.id) == {}


def test_enforcement_decision_beyond_the_notified_penalty(procedures, clock):
    engine = procedures
    # legal review fails, the officer raises the proposed fine while rectifying; the party is never told again
    raised = _noticed(engine, clock, {"legal_review_grounds": ["complex"]})
    send(engine, raised.id, "statement_received", {"statement": "无异议", "hearing_requested": False})
    complete(engine, raised.id, "legal_review", {"legal_review_result": "fail", "reviewer_qualified": True,
                                                 "issues": ["违法所得计算有误"]})  # fmt: skip
    complete(engine, raised.id, "rectify", {"actions": ["重新核定货值"], "proposed_fine": 80000})
    complete(engine, raised.id, "legal_review", PASS, "legal.zhou")
    complete(engine, raised.id, "decide", {**PENALTY, "fine_amount": 80000}, "leader.qian")
    found = rule_alerts(engine, raised.id)
    assert list(found) == [("enforcement_without_notice", "decide")]
    assert "罚款 80000 元，告知 50000 元" in found[("enforcement_without_notice", "decide")]
    assert "行政处罚法第44条、第45条、第62条" in found[("enforcement_without_notice", "decide")]

    heavier = _noticed(engine, clock)
    advance_to(engine, clock, local(date(2026, 9, 25)))
    complete(engine, heavier.id, "decide", {**PENALTY, "penalties": ["fine", "suspend_business"]}, "leader.qian")
    assert "suspend_business" in rule_alerts(engine, heavier.id)[("enforcement_without_notice", "decide")]


def _own_version(engine, tmp_path, replacements: list[tuple[str, str]]) -> None:
    """Deploy a department's own edit of the enforcement procedure as its newest version."""
    text = (PROCESSES / "enforcement_case.bpmn").read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "enforcement_case.bpmn"
    path.write_text(text, encoding="utf-8")
    engine.repository.deploy_file(path, "designer")


def test_enforcement_decided_without_legal_review_or_notice_in_an_edited_procedure(procedures, clock, tmp_path):
    engine = procedures
    # An edited diagram forgets the hearing ground of Art 58(1)2: supervision judges the decision on the recorded
    # facts, whatever the diagram let through.
    _own_version(engine, tmp_path, [
        ("len(legal_review_grounds) &gt; 0 or hearing_held</bpmn:conditionExpression>",
         "len(legal_review_grounds) &gt; 0</bpmn:conditionExpression>"),
    ])  # fmt: skip
    heard = _noticed(engine, clock)
    _heard(engine, clock, heard)
    assert [t.bpmn_id for t in open_tasks(engine, heard.id)] == ["decide"]
    complete(engine, heard.id, "decide", PENALTY, "leader.qian")
    found = rule_alerts(engine, heard.id)
    assert list(found) == [("enforcement_without_legal_review", "decide")]
    assert "hearing_held" in found[("enforcement_without_legal_review", "decide")]
    assert "行政处罚法第58条" in found[("enforcement_without_legal_review", "decide")]

    # Another edit tells the party only when a failed legal review sends the case back (too late for most cases).
    _own_version(engine, tmp_path, [
        ('sourceRef="investigation_report" targetRef="notice_of_rights"',
         'sourceRef="investigation_report" targetRef="statement_period"'),
        ('sourceRef="rectify" targetRef="legal_review"', 'sourceRef="rectify" targetRef="notice_of_rights"'),
    ])  # fmt: skip
    untold = _noticed(engine, clock)
    advance_to(engine, clock, local(date(2026, 9, 28)))
    complete(engine, untold.id, "decide", PENALTY, "leader.qian")
    found = rule_alerts(engine, untold.id)
    assert list(found) == [("enforcement_without_notice", "decide")]
    assert "事先告知书" in found[("enforcement_without_notice", "decide")]
