"""End to end: joint review (processes/joint_review.bpmn, 行政许可法第26条、第42条第2款) of the construction planning
permit, co-reviewed in parallel by fire rescue, ecology & environment and housing. Clock: Friday 2026-09-18 09:00."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

from tests.procedures_kit import (
    PROCESSES,
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
    status,
)

ITEM = "ZRZY-XK-001"
CO = ["qx-xf", "qx-sthj", "qx-zjj"]
LEAD = {"meeting_needed": False, "extension_requested": False}


def _later(clock, hours: int = 2) -> None:
    clock.advance(timedelta(hours=hours))


def _dispatched(engine, clock):
    case = apply(engine, ITEM)
    assert case.receipt_no.startswith("QXZRZY-20260918-")
    _later(clock)
    complete(engine, case.id, "accept", {"accept_outcome": "accept"}, "clerk.zhou")
    _later(clock)
    return case


def _co_tasks(engine, case_id) -> dict:
    return {t.candidate_groups[0]: t for t in open_tasks(engine, case_id) if t.bpmn_id.startswith("co_review")}


def _opinion(engine, case_id, department, verdict, **extra):
    task = _co_tasks(engine, case_id)[f"reviewer@{department}"]
    data = {"verdict": verdict, "opinion": "审查意见", **extra}
    engine.forms.check(task.form_key, data)
    engine.tasks.complete(task.id, f"reviewer.{department}", data)


def test_joint_review_all_co_departments_agree(procedures, clock):
    engine = procedures
    case = _dispatched(engine, clock)
    assert sorted(_co_tasks(engine, case.id)) == sorted(f"reviewer@{d}" for d in CO)  # in parallel
    the_clocks = clocks(engine, case.id)
    assert (the_clocks["case"].statutory, the_clocks["case"].promised) == ("45wd", "20wd")
    for d in CO:
        assert the_clocks[f"co_review:{d}"].statutory == "10wd"  # each co-department its own clock (catalog)
    _opinion(engine, case.id, "qx-xf", "agree")
    _opinion(engine, case.id, "qx-sthj", "agree_with_conditions", conditions=["施工期间落实扬尘防治措施"])
    _later(clock)
    _opinion(engine, case.id, "qx-zjj", "agree")
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["lead_review"]
    complete(engine, case.id, "lead_review", LEAD, "approver.zhou")
    complete(engine, case.id, "decide", {"decision": "approve", "certificate_no": "建字第2026001号",
                                         "conditions_attached": ["施工期间落实扬尘防治措施"]}, "approver.zhou")  # fmt: skip
    complete(engine, case.id, "deliver", {"certificate_no": "建字第2026001号", "delivered_on": "2026-09-24",
                                          "delivery": "on_site"}, "clerk.zhou")  # fmt: skip
    assert status(engine, case.id) == "completed" and route(engine, case.id)[-1] == "approved_end"
    reviews = data(engine, case.id)["co_reviews"]
    assert {d: r["verdict"] for d, r in reviews.items()} == {"qx-xf": "agree", "qx-sthj": "agree_with_conditions",
                                                             "qx-zjj": "agree"}  # fmt: skip
    assert data(engine, case.id)["all_conditions"] == ["施工期间落实扬尘防治措施"]
    assert "joint_meeting" not in route(engine, case.id)
    assert all(clocks(engine, case.id)[f"co_review:{d}"].ended_at is not None for d in CO)


def test_joint_review_one_veto_goes_to_joint_meeting(procedures, clock):
    engine = procedures
    case = _dispatched(engine, clock)
    _opinion(engine, case.id, "qx-xf", "veto", reasons="消防车道宽度不足4米（消防法第十一条）")
    _opinion(engine, case.id, "qx-sthj", "agree")
    _opinion(engine, case.id, "qx-zjj", "agree")
    assert data(engine, case.id)["vetoes"] == ["qx-xf"]
    complete(engine, case.id, "lead_review", LEAD, "approver.zhou")
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["joint_meeting"]  # a veto forces the meeting
    complete(engine, case.id, "joint_meeting", {"held_on": "2026-09-22", "form": "meeting", "veto_resolved": False,
                                                "participants": CO, "resolution": "消防意见成立，不予许可"})  # fmt: skip
    complete(engine, case.id, "decide", {"decision": "deny", "reasons": "消防车道不符合要求"}, "approver.zhou")
    complete(engine, case.id, "deliver_denial", {"decision_no": "县规不许〔2026〕2号", "delivered_on": "2026-09-24",
                                                 "delivery": "on_site", "appeal_rights_notified": True})  # fmt: skip
    assert route(engine, case.id)[-1] == "denied_end"
    assert ("approve_despite_veto", "case") not in alerts(engine, case.id)


def test_joint_review_one_co_department_overdue_escalated_then_deemed_consent(procedures, clock):
    engine = procedures
    case = _dispatched(engine, clock)
    _opinion(engine, case.id, "qx-xf", "agree")
    _opinion(engine, case.id, "qx-sthj", "agree")
    advance_to(engine, clock, local(date(2026, 9, 24)))  # promised 5 wd end on 09-24
    assert ("red", "co_review:qx-zjj") not in alerts(engine, case.id)
    advance_to(engine, clock, local(date(2026, 9, 25)))
    assert ("red", "co_review:qx-zjj") in alerts(engine, case.id)
    assert ("red", "co_review:qx-xf") not in alerts(engine, case.id)  # the others answered in time
    advance_to(engine, clock, local(date(2026, 10, 10)))  # statutory 10 wd end on 10-09
    assert ("red_plus", "co_review:qx-zjj") in alerts(engine, case.id)
    assert letters(engine, case.id)
    reviews = data(engine, case.id)["co_reviews"]
    assert reviews["qx-zjj"]["deemed"] is True and reviews["qx-zjj"]["verdict"] == "agree"  # the item says so
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["lead_review"]


def test_joint_review_overdue_without_consent_rule_must_still_answer(procedures, clock, tmp_path):
    engine = procedures
    shutil.copy(PROCESSES / "departments.toml", tmp_path / "departments.toml")
    text = (PROCESSES / "catalog.toml").read_text(encoding="utf-8")
    (tmp_path / "catalog.toml").write_text(text.replace("no_reply_consent = true", "no_reply_consent = false"))
    engine.catalog.load(tmp_path / "catalog.toml")
    case = _dispatched(engine, clock)
    _opinion(engine, case.id, "qx-xf", "agree")
    _opinion(engine, case.id, "qx-sthj", "agree")
    advance_to(engine, clock, local(date(2026, 10, 10)))
    assert ("red_plus", "co_review:qx-zjj") in alerts(engine, case.id)
    tasks = open_tasks(engine, case.id)
    assert [(t.bpmn_id, t.candidate_groups) for t in tasks] == [("co_review_late", ["reviewer@qx-zjj"])]
    _opinion(engine, case.id, "qx-zjj", "agree")
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["lead_review"]
    assert data(engine, case.id)["co_reviews"]["qx-zjj"]["deemed"] is False


def test_joint_review_extension_with_government_head_approval(procedures, clock):
    engine = procedures
    case = _dispatched(engine, clock)
    for d in CO:
        _opinion(engine, case.id, d, "agree")
    assert engine.deadlines.stage(case.id, "case").statutory_due == end_of(date(2026, 11, 26))  # 45 wd
    complete(engine, case.id, "lead_review", {"meeting_needed": True, "extension_requested": True,
                                              "extension_reason": "需组织专家论证"}, "approver.zhou")  # fmt: skip
    complete(engine, case.id, "joint_meeting", {"held_on": "2026-09-22", "form": "countersign", "veto_resolved": True,
                                                "participants": CO, "resolution": "会签同意"})  # fmt: skip
    task = open_tasks(engine, case.id)[0]
    assert (task.bpmn_id, task.candidate_groups) == ("approve_extension", ["leader@qx"])  # the county government
    complete(engine, case.id, "approve_extension", {"extension_approved": True, "extension_approver": "zhao.gang"})
    assert clocks(engine, case.id)["case"].extension == "15wd"
    assert engine.deadlines.stage(case.id, "case").statutory_due == end_of(date(2026, 12, 17))  # 45 + 15 wd
    assert [t.bpmn_id for t in open_tasks(engine, case.id)] == ["decide"]
