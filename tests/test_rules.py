"""Procedure rules: each fires on a crafted unlawful case, citing its rule and article, and not on a lawful one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import supervision_world as world
from sqlalchemy import select

from engine import alerts_board, escalation, rules
from engine.clock import LOCAL_TZ
from engine.stage_clocks import StepClocks
from engine.step import run_step
from engine.store import ClockStop, Notification, StageClock, SupervisionAlert


@pytest.fixture
def county(engine):
    world.build(engine)
    return engine


def alerts(engine, case) -> dict[str, str]:
    with engine.db.session() as session:
        rows = session.scalars(select(SupervisionAlert).where(SupervisionAlert.case_id == case.id)).all()
    return {a.kind: a.message for a in rows}


def lawful_walk(engine, clock, case, *, certificate_data=None):
    world.complete(engine, case.id, "accept", "clerk.a", {"outcome": "accept"})
    clock.advance(days=1)
    world.complete(engine, case.id, "review", "clerk.a", {"opinion": "符合条件"})
    clock.advance(hours=4)
    world.complete(engine, case.id, "decide", "clerk.a", {"decision": "approve"})
    clock.advance(days=2)
    world.complete(engine, case.id, "certificate", "clerk.a", certificate_data or {})


def test_a_lawful_approval_raises_no_alert(county, clock):
    case = world.start(county, "town-a", fee={"standard": 50, "basis": "收费标准"})
    lawful_walk(county, clock, case, certificate_data={"fee_charged": 50})
    assert alerts(county, case) == {}


def test_refusal_without_a_reason(county):
    bare = world.start(county, "town-a")
    world.complete(county, bare.id, "accept", "clerk.a", {"outcome": "refuse"})
    found = alerts(county, bare)
    assert list(found) == ["refuse_without_reason"]
    assert "行政许可法第32条、第38条第2款" in found["refuse_without_reason"]
    reasoned = world.start(county, "town-a")
    world.complete(
        county, reasoned.id, "accept", "clerk.a", {"outcome": "refuse", "refuse_reason": "不属于本机关职权范围"}
    )
    assert alerts(county, reasoned) == {}


def _supplement(engine, case):
    world.complete(engine, case.id, "accept", "clerk.a", {"outcome": "supplement"})
    engine.runtime.send_message(case.id, "supplement_received", {"supplied": ["营业执照"]})


def test_more_than_one_missing_materials_notice(county):
    once = world.start(county, "town-a")
    _supplement(county, once)
    assert alerts(county, once) == {}
    twice = world.start(county, "town-a")
    _supplement(county, twice)
    _supplement(county, twice)
    found = alerts(county, twice)
    assert list(found) == ["repeat_notice"] and "第32条第1款第4项" in found["repeat_notice"]
    assert "第2次" in found["repeat_notice"]


def _clock(engine, case, **fields):
    with engine.db.session() as session, session.begin():
        session.add(StageClock(case_id=case.id, **fields))


def test_a_stage_over_its_own_limit(county, clock):
    now = clock.now()
    late = world.start(county, "town-a")
    _clock(
        county,
        late,
        stage="review",
        statutory="14wd",
        promised="3wd",
        basis="本事项审查环节承诺时限",
        started_at=now - timedelta(days=14),
        ended_at=now,
        element="review",
    )
    in_time = world.start(county, "town-a")
    _clock(
        county,
        in_time,
        stage="review",
        statutory="14wd",
        promised="3wd",
        started_at=now - timedelta(days=1),
        ended_at=now,
        element="review",
    )
    for case in (late, in_time):
        county.tasks.claim(world.task_of(county, case.id).id, "clerk.a")
    found = alerts(county, late)
    assert list(found) == ["stage_over_limit"] and "本事项审查环节承诺时限" in found["stage_over_limit"]
    assert alerts(county, in_time) == {}


def test_an_extension_beyond_the_legal_maximum(county, clock):
    too_long = world.start(county, "town-a")
    _clock(county, too_long, stage="case", statutory="20wd", promised="10wd", started_at=clock.now(), extension="20wd")
    lawful = world.start(county, "town-a")
    _clock(county, lawful, stage="case", statutory="20wd", promised="10wd", started_at=clock.now(), extension="10wd")
    for case in (too_long, lawful):
        county.tasks.claim(world.task_of(county, case.id).id, "clerk.a")
    found = alerts(county, too_long)
    assert list(found) == ["extension_beyond_maximum"] and "行政许可法第42条" in found["extension_beyond_maximum"]
    assert alerts(county, lawful) == {}


def test_a_clock_stop_without_a_legal_reason(county, clock):
    cases = {}
    for reason in ("", "testing"):
        cases[reason] = world.start(county, "town-a")
        with county.db.session() as session, session.begin():
            session.add(
                ClockStop(case_id=cases[reason].id, reason=reason, started_at=clock.now(), started_by="clerk.a")
            )
        county.tasks.claim(world.task_of(county, cases[reason].id).id, "clerk.a")
    found = alerts(county, cases[""])
    assert list(found) == ["clock_stop_without_reason"] and "行政许可法第45条" in found["clock_stop_without_reason"]
    assert alerts(county, cases["testing"]) == {}


def test_certificate_later_than_ten_working_days_after_the_decision(county, clock):
    case = world.start(county, "town-a")
    world.complete(county, case.id, "accept", "clerk.a", {"outcome": "accept"})
    clock.advance(hours=2)
    world.complete(county, case.id, "review", "clerk.a")
    clock.advance(hours=2)
    world.complete(county, case.id, "decide", "clerk.a", {"decision": "approve"})  # Friday 2026-09-18
    # 09-20 (调休), 09-21..24, 09-28..30, 10-08, 10-09, 10-10 (调休), 10-12, 10-13: the 13th working day.
    clock.set(datetime(2026, 10, 13, 10, tzinfo=LOCAL_TZ))
    world.complete(county, case.id, "certificate", "clerk.a")
    found = alerts(county, case)
    assert list(found) == ["late_certificate"] and "第13个工作日" in found["late_certificate"]
    assert "行政许可法第44条" in found["late_certificate"]


def test_a_decision_before_acceptance_and_an_implausibly_fast_one(county, clock):
    backdated = world.start(county, "town-a", accepted_at="2026-09-10T10:00:00+08:00",
                            decided_at="2026-09-09T10:00:00+08:00")  # fmt: skip
    world.complete(county, backdated.id, "accept", "clerk.a", {"outcome": "accept"})
    assert list(alerts(county, backdated)) == ["decision_before_acceptance"]

    fast = world.start(county, "town-a")
    world.complete(county, fast.id, "accept", "clerk.a", {"outcome": "accept"})
    clock.advance(minutes=3)
    world.complete(county, fast.id, "review", "clerk.a")
    clock.advance(minutes=3)
    world.complete(county, fast.id, "decide", "clerk.a", {"decision": "approve"})
    found = alerts(county, fast)
    assert list(found) == ["implausibly_fast"] and "6 分钟" in found["implausibly_fast"]

    instant = world.start(county, "town-a", handling="instant")  # 即办件: decided on the spot is lawful
    world.complete(county, instant.id, "accept", "clerk.a", {"outcome": "accept"})
    world.complete(county, instant.id, "review", "clerk.a")
    world.complete(county, instant.id, "decide", "clerk.a", {"decision": "approve"})
    assert alerts(county, instant) == {}


def _penalty(engine, clock, **flags):
    case = world.start(engine, "qx-scjg", process="supervised_penalty", officer="officer.m", item_kind="penalty",
                       legal_review_grounds=["major_public_interest"])  # fmt: skip
    world.complete(engine, case.id, "investigate", "officer.m", flags)
    for step in ("notice_of_rights", "legal_review", "decide"):
        clock.advance(days=1)
        if any(t.bpmn_id == step for t in engine.tasks.query(case_id=case.id)):
            world.complete(engine, case.id, step, "officer.m")
    return case


def test_an_enforcement_decision_without_legal_review_or_notice_of_rights(county, clock):
    skipped = _penalty(county, clock, skip_notice=True, skip_review=True)
    found = alerts(county, skipped)
    assert set(found) == {"enforcement_without_legal_review", "enforcement_without_notice"}
    assert "行政处罚法第58条" in found["enforcement_without_legal_review"]
    assert "行政处罚法第44条" in found["enforcement_without_notice"]
    assert alerts(county, _penalty(county, clock, skip_notice=False, skip_review=False)) == {}


def test_a_fee_not_in_the_catalog(county, clock):
    free = world.start(county, "town-a")  # no fee in the item: free of charge (行政许可法第58条)
    lawful_walk(county, clock, free, certificate_data={"fee_charged": 200})
    found = alerts(county, free)
    assert list(found) == ["fee_not_in_catalog"] and "免费" in found["fee_not_in_catalog"]
    assert "第59条" in found["fee_not_in_catalog"]


def test_every_rule_cites_an_article():
    assert len(rules.RULES) >= 10
    assert all("法" in r.article and "第" in r.article for r in rules.RULES.values())


def _trail_actions(engine, case) -> list[str]:
    return [e.action for e in engine.history.trail(case.id)]


def _in_app(engine, case) -> list[tuple[str, str]]:
    with engine.db.session() as session:
        rows = session.scalars(select(Notification).where(Notification.case_id == case.id,
                                                          Notification.channel == "in_app"))  # fmt: skip
        return sorted((n.recipient, n.subject) for n in rows)


def test_a_rule_alert_is_audited_and_notified_like_a_timer_alert(county):
    case = world.start(county, "town-a")
    world.complete(county, case.id, "accept", "clerk.a", {"outcome": "refuse"})
    (alert,) = _alerts_of(county, case)
    assert alert.officers == ["clerk.a"]  # the clerk who refused without a reason
    assert _trail_actions(county, case) == ["case_started", "task_completed", "alert_raised"]
    raised = county.history.trail(case.id)[-1].payload
    assert raised["alert_id"] == alert.id and raised["kind"] == "refuse_without_reason"
    assert _in_app(county, case) == [("clerk.a", f"监察预警：{case.receipt_no}")]
    assert county.history.verify(case.id)[0].ok


def test_a_rule_the_diagram_raised_itself_is_not_raised_again_by_the_rules(county):
    case = world.start(county, "town-a")

    def diagram_alert(ctx):
        escalation.raise_alert(StepClocks.of(ctx), "refuse_without_reason", "accept", "窗口退件未说明理由")

    run_step(county, case.id, "scheduler", "timers_fired", diagram_alert)
    world.complete(county, case.id, "accept", "clerk.a", {"outcome": "refuse"})  # the rule finds the same fault
    (alert,) = _alerts_of(county, case)
    assert alert.message == "窗口退件未说明理由"
    assert _trail_actions(county, case).count("alert_raised") == 1 and len(_in_app(county, case)) == 1


def test_a_supervision_letter_from_the_board_is_audited_and_reaches_the_leaders_backup(county):
    county.identity.add_department("town-a", "甲镇", "town", "qx", leader="leader.a")
    county.identity.add_user("deputy.a", world.PASSWORD, "town-a", ["leader"])
    county.identity.set_absent("leader.a", "deputy.a")
    case = world.start(county, "town-a")
    world.complete(county, case.id, "accept", "clerk.a", {"outcome": "refuse"})
    (alert,) = _alerts_of(county, case)
    issued = alerts_board.issue_letter(county, world.user(county, "sup.a"), alert.id, "town-a", 3, "请说明情况")
    last = county.history.trail(case.id)[-1]
    assert (last.action, last.actor) == ("letter_issued", "sup.a")
    assert last.payload["letter_no"] == issued["letter_no"] and last.payload["addressed_to"] == "leader.a"
    with county.db.session() as session:
        (note,) = session.scalars(select(Notification).where(Notification.case_id == case.id,
                                                             Notification.recipient != "clerk.a")).all()  # fmt: skip
    assert (note.channel, note.recipient) == ("in_app", "deputy.a") and "原发给 leader.a" in note.body
    assert "（受理）" in note.body and county.history.verify(case.id)[0].ok


def _alerts_of(engine, case) -> list[SupervisionAlert]:
    with engine.db.session() as session:
        return list(session.scalars(select(SupervisionAlert).where(SupervisionAlert.case_id == case.id)))
