"""Escalation end to end: a diagram that warns before the promised limit and escalates when the statutory limit
passes, walked on the real calendar with the test clock and the scheduler's drain; alerts, audit, letters."""

from __future__ import annotations

from datetime import datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from engine import deadlines, escalation
from engine.clock import LOCAL_TZ
from engine.errors import InvalidData
from engine.scheduler import drain
from engine.stage_clocks import StepClocks
from engine.step import run_step
from engine.store import AuditEvent, Case, Notification, SupervisionAlert
from tests.conftest import FIXTURES

LEADER = "wang.juzhang"
OFFICER = "li.shencha"


def _at(m, d, hh=0, mm=0, ss=1):
    return datetime(2026, m, d, hh, mm, ss, tzinfo=LOCAL_TZ)


@pytest.fixture
def approval(engine, deploy, tmp_path):
    """The engine with a department whose leader is known, contacts for the leader and the officer, and one
    accepted approval case (20 wd statutory, 10 wd promised) whose review task the officer holds."""
    departments = tmp_path / "departments.toml"
    departments.write_text(
        '[[department]]\ncode = "qx-scjg"\nname = "示范县市场监督管理局"\nlevel = "county"\nleader = "wang.juzhang"\n',
        encoding="utf-8",
    )
    engine.departments_file = departments
    engine.contacts = {LEADER: {"email": "wang@scjg.example.gov.cn", "phone": "13900000001"},
                       OFFICER: {"phone": "13900000002"}}  # fmt: skip
    deploy("tl_approval.bpmn")
    case = engine.runtime.start("tl_approval", {"department": "qx-scjg", "item_name": "食品经营许可"})
    review = engine.tasks.query(case_id=case.id)[0]
    engine.tasks.claim(review.id, OFFICER)
    return case


def _alerts(engine, case_id):
    """The colour alerts of a case, oldest first (procedure-rule alerts of supervision are left out)."""
    found = reversed(escalation.alerts(engine, case_id=case_id))
    return [(a.kind, a.stage) for a in found if a.kind in escalation.COLOUR_KINDS]


def _count(engine, case_id, action):
    with engine.db.session() as s:
        return s.scalar(select(func.count()).where(AuditEvent.case_id == case_id, AuditEvent.action == action))


def test_approval_warned_then_red_then_red_plus_with_letter_to_the_leader(engine, clock, approval):
    case = approval
    assert drain(engine) == 0
    clock.set(_at(9, 21, 23, 59, 0))
    assert drain(engine) == 0 and _alerts(engine, case.id) == []

    clock.set(_at(9, 22))  # review: 5 wd promised, due 09-24 (09-25 is Mid-Autumn): ≤ 2 wd left from 09-22
    assert drain(engine) == 1
    assert _alerts(engine, case.id) == [("yellow", "review")]
    first = escalation.alerts(engine, case_id=case.id)[0]
    assert first.officers == [OFFICER] and first.department == "qx-scjg"
    assert "剩余 2 个工作日" in first.message and "食品经营许可" in first.message
    assert drain(engine) == 0  # fired once

    clock.set(_at(9, 30))  # case: promised due 10-09, yellow from 09-30
    assert drain(engine) == 1
    clock.set(_at(10, 10))  # the promised limit passed at the end of 10-09
    assert drain(engine) == 1
    assert engine.deadlines.case_limits(case.id).colour == "red"
    clock.set(_at(10, 22, 23, 59, 0))
    assert drain(engine) == 0  # the statutory limit runs to the end of 10-22
    clock.set(_at(10, 23))
    assert drain(engine) == 1
    assert _alerts(engine, case.id) == [("yellow", "review"), ("yellow", "case"), ("red", "case"), ("red_plus", "case")]
    assert engine.deadlines.case_limits(case.id).colour == "red_plus"

    (letter,) = escalation.letters(engine, addressed_to=LEADER)
    assert letter.letter_no == "督办〔2026〕1号" and letter.department == "qx-scjg"
    assert "已超过法定期限 2026-10-22" in letter.body and "行政许可法第42条" in letter.body
    assert _count(engine, case.id, "timers_fired") == 4
    assert _count(engine, case.id, "alert_raised") == 4 and _count(engine, case.id, "letter_issued") == 1
    assert engine.history.verify(case.id)[0].ok

    with engine.db.session() as s:
        rows = s.scalars(select(Notification).where(Notification.case_id == case.id)).all()
    sent_to = sorted((n.channel, n.recipient) for n in rows)
    assert sent_to.count(("in_app", OFFICER)) == 4 and sent_to.count(("sms", OFFICER)) == 4
    assert ("email", OFFICER) not in sent_to  # no address known: in-app and SMS only
    assert [c for c, r in sent_to if r == LEADER] == ["email", "in_app", "in_app", "sms"]  # red, red_plus
    assert all(n.state == "sent" for n in rows if n.channel == "in_app")
    assert all(n.state == "pending" for n in rows if n.channel != "in_app")


def test_hearing_stops_the_clock_and_the_warning_timer_moves_with_it(engine, clock, approval):
    case = approval
    clock.set(_at(9, 21, 10))
    review = engine.tasks.query(case_id=case.id)[0]
    engine.tasks.complete(review.id, OFFICER, {})
    assert engine.deadlines.case_limits(case.id).stopped
    original_warn = engine.deadlines.stage(case.id, "case").warn_at
    assert original_warn == _at(9, 30, 0, 0, 0)

    clock.set(_at(9, 30))  # the original warning time passes during the hearing: no alert
    assert drain(engine) == 1
    assert _alerts(engine, case.id) == []
    with engine.db.session() as s:
        assert s.get(Case, case.id).next_timer_at > clock.now()

    clock.set(_at(10, 12, 10))  # the hearing ends on a Monday
    hearing = engine.tasks.query(case_id=case.id)[0]
    assert hearing.bpmn_id == "hearing"
    engine.tasks.complete(hearing.id, OFFICER, {})
    status = engine.deadlines.stage(case.id, "case")
    cal = deadlines.calendar_for(engine)
    assert status.stopped_days == cal.workdays_between(_at(9, 21).date(), _at(10, 12).date())
    assert cal.workdays_between(datetime(2026, 10, 9).date(), status.promised_due.date()) == status.stopped_days
    with engine.db.session() as s:
        assert s.get(Case, case.id).next_timer_at == status.warn_at > original_warn

    clock.set(status.warn_at)
    assert drain(engine) == 0  # due strictly after its time
    clock.set(datetime.fromtimestamp(status.warn_at.timestamp() + 1, LOCAL_TZ))
    assert drain(engine) == 1
    assert _alerts(engine, case.id) == [("yellow", "case")]


def test_an_alert_is_raised_once_per_stage_run_and_a_bad_kind_is_refused(engine, approval):
    ids = []

    def twice(ctx):
        clocks = StepClocks.of(ctx)
        ids.extend(escalation.raise_alert(clocks, "stage_overdue", "review").id for _ in range(2))

    run_step(engine, approval.id, "supervisor", "manual_alert", twice)
    assert ids[0] == ids[1]
    with engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(SupervisionAlert)) == 1

    def bad(ctx):
        escalation.raise_alert(StepClocks.of(ctx), "Purple!", "review")

    with pytest.raises(InvalidData, match="must be yellow, red, red_plus or a rule code"):
        run_step(engine, approval.id, "supervisor", "manual_alert", bad)


def test_alert_for_a_stage_without_a_clock_marks_the_case_error_at_the_script(engine, clock, tmp_path):
    bpmn = tmp_path / "tl_alert_nowhere.bpmn"
    source = (FIXTURES / "tl_approval.bpmn").read_text(encoding="utf-8")
    bpmn.write_text(source.replace("alert('yellow', 'review')", "alert('yellow', 'decide')")
                    .replace("deadline_warn('review')", "now()"), encoding="utf-8")  # fmt: skip
    engine.repository.deploy_file(bpmn, "designer")
    case = engine.runtime.start("tl_approval", {"department": "qx-scjg"})
    clock.advance(seconds=1)
    assert drain(engine) == 1
    view = engine.runtime.describe(case.id)
    assert view["status"] == "error" and view["error"]["element"] == "review_yellow"
    assert "stage 'decide' has no clock" in view["error"]["message"]
    assert _alerts(engine, case.id) == []


def test_a_warning_that_fires_after_the_limit_says_how_late_not_a_negative_count():
    from datetime import datetime

    from engine.clock import LOCAL_TZ
    from engine.deadlines import StageStatus
    from engine.escalation import _default_message

    due = datetime(2026, 11, 16, 23, 59, 59, tzinfo=LOCAL_TZ)
    status = StageStatus(stage="review", colour="red", running=True, started_at=due, ended_at=None, statutory="20wd",
                         promised="10wd", basis=None, promised_due=due, statutory_due=None, warn_at=None,
                         days_left=-4, used=1.4, provisional=False, stopped=False, stopped_days=0, extension=None)
    late = _default_message("yellow", "review", "QX-1", {"item_name": "食品经营许可"}, status)
    assert "预警时已超过承诺期限 2026-11-16 4 个工作日" in late and "-4" not in late and "剩余" not in late
    on_time = _default_message("yellow", "review", "QX-1", {}, StageStatus(**{**status.__dict__, "days_left": 2}))
    assert "剩余 2 个工作日" in on_time


def _notifications(engine, case_id) -> list[tuple[str, str]]:
    with engine.db.session() as s:
        return sorted((n.channel, n.recipient) for n in s.scalars(select(Notification).where(
            Notification.case_id == case_id)))  # fmt: skip


def test_the_same_alert_raised_twice_is_one_row_one_audit_event_one_notification(engine, approval):
    def twice(ctx):
        clocks = StepClocks.of(ctx)
        assert escalation.raise_alert(clocks, "yellow", "review").id == escalation.raise_alert(
            clocks, "yellow", "review").id  # fmt: skip

    run_step(engine, approval.id, "supervisor", "manual_alert", twice)
    run_step(engine, approval.id, "supervisor", "manual_alert", twice)  # a later step: still the same alert
    assert _alerts(engine, approval.id) == [("yellow", "review")]
    assert _count(engine, approval.id, "alert_raised") == 1
    assert _notifications(engine, approval.id) == [("in_app", OFFICER), ("sms", OFFICER)]
    assert engine.history.verify(approval.id)[0].ok


def test_an_alert_for_an_absent_officer_reaches_their_backup_not_them(engine, clock, approval):
    engine.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine.identity.add_department("qx-scjg", "示范县市场监督管理局", "county", leader=LEADER)
    for name in (OFFICER, "zhou.beifen"):
        engine.identity.add_user(name, "correct-horse-9", "qx-scjg", ["reviewer"])
    engine.contacts = {**engine.contacts, "zhou.beifen": {"phone": "13900000003"}}
    engine.identity.set_absent(OFFICER, "zhou.beifen")
    clock.set(_at(9, 22))  # the review stage turns yellow
    assert drain(engine) == 1
    (alert,) = escalation.alerts(engine, case_id=approval.id)
    assert alert.officers == [OFFICER]  # responsible is still the officer holding the task
    assert _notifications(engine, approval.id) == [("in_app", "zhou.beifen"), ("sms", "zhou.beifen")]
    with engine.db.session() as s:
        sms = s.scalars(select(Notification).where(Notification.channel == "sms")).one()
    assert sms.address == "13900000003" and f"原发给 {OFFICER}" in sms.body and "即将到期" in sms.body
