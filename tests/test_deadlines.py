"""Deadlines: stage clocks from the diagram and from scripts, clock stops, the one lawful extension, colours.

The calendar facts themselves are in test_calendar.py; here they are reached through cases and stage clocks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest

from engine import calendar as workcal
from engine import deadlines
from engine.clock import LOCAL_TZ
from engine.deadlines import ClockFacts, ColourPolicy, Interval, Limit, stage_status
from engine.errors import CaseScriptError, InvalidData, NotFound
from engine.store import AuditEvent


@pytest.fixture
def seeded(engine):
    """The engine with its calendar table seeded from the holidays package."""
    with engine.db.write_session() as session, session.begin():
        workcal.seed(session, workcal.package_years())
    deadlines.forget_calendar(engine)
    return engine


def _local(y, m, d, hh=9, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


def _due_day(status, kind="promised"):
    return (status.promised_due if kind == "promised" else status.statutory_due).date()


def _start_case(engine, limits, data=None):
    """A case whose only clock is `case`, started by a script with the given catalog limits."""
    engine.repository.deploy_file(_fixture("tl_approval.bpmn"), "designer")
    return engine.runtime.start("tl_approval", {"department": "qx-scjg", "limits": limits, **(data or {})})


def _fixture(name):
    from tests.conftest import FIXTURES

    return FIXTURES / name


# -- limits ----------------------------------------------------------------------------------------------------
def test_limits_parse_working_and_calendar_days_and_refuse_anything_else():
    assert Limit.parse("20wd") == Limit(20, "wd") and str(Limit.parse(" 60d ")) == "60d"
    for bad in ("twenty", "20w", "", "-3wd", "20 working days", None, 20):
        with pytest.raises(InvalidData, match="promised limit"):
            Limit.parse(bad, "promised limit")


def test_case_clock_from_catalog_limits_is_due_on_the_official_schedule(seeded):
    # 行政许可法第42条: accepted 2026-09-18, 20 working days across National Day and its 调休 = 2026-10-22.
    case = _start_case(seeded, {"case": {"statutory": "20wd", "promised": "10wd", "basis": "行政许可法第42条"}})
    status = seeded.deadlines.stage(case.id, "case")
    assert _due_day(status, "statutory") == date(2026, 10, 22)
    assert _due_day(status, "promised") == date(2026, 10, 9)
    assert status.statutory_due.tzinfo is not None and status.statutory_due.strftime("%H:%M:%S") == "23:59:59"
    assert status.basis == "行政许可法第42条" and status.colour == "green" and not status.provisional
    # The stage clock of the `review` element carries the element's own limits.
    review = seeded.deadlines.stage(case.id, "review")
    assert (review.statutory, review.promised, review.basis) == ("10wd", "5wd", "本中心承诺办理时限")


def test_catalog_limits_override_element_properties(engine):
    case = _start_case(engine, {"case": {"statutory": "20wd"}, "review": {"statutory": "8wd", "promised": "3wd"}})
    review = engine.deadlines.stage(case.id, "review")
    assert (review.statutory, review.promised) == ("8wd", "3wd")
    case_clock = engine.deadlines.stage(case.id, "case")
    # No promise in the catalog: the script's default (10wd) stays the promise.
    assert (case_clock.statutory, case_clock.promised) == ("20wd", "10wd")


def test_promised_limit_longer_than_statutory_stops_the_case_start(engine):
    with pytest.raises(CaseScriptError, match="promised limit 25wd is longer than the statutory 20wd"):
        _start_case(engine, {"case": {"statutory": "20wd", "promised": "25wd"}})


def test_review_appeal_thirty_days_ending_on_sunday_ends_on_monday(seeded):
    # 行政复议法第62条 counts in calendar days; day 30 after 2026-09-18 is Sunday 10-18, so it ends Monday.
    case = _start_case(seeded, {"case": {"statutory": "60d", "promised": "30d", "basis": "行政复议法第62条"}})
    assert _due_day(seeded.deadlines.stage(case.id, "case")) == date(2026, 10, 19)


def test_joint_review_45_workdays_and_its_15_workday_extension(seeded, clock):
    case = _start_case(seeded, {"case": {"statutory": "45wd", "promised": "30wd", "basis": "行政许可法第26条"}})
    assert _due_day(seeded.deadlines.stage(case.id, "case"), "statutory") == date(2026, 11, 26)
    with pytest.raises(InvalidData, match=r"beyond the legal maximum of 15wd \(行政许可法第26条、第42条第2款\)"):
        seeded.deadlines.extend(case.id, "case", "16wd", basis="行政许可法第42条", approved_by="县长", actor="li")
    status = seeded.deadlines.extend(
        case.id, "case", "15wd", basis="行政许可法第42条第2款", approved_by="县长", actor="li"
    )
    cal = deadlines.calendar_for(seeded)
    assert _due_day(status, "statutory") == cal.add_workdays(date(2026, 11, 26), 15).day


# -- extension -------------------------------------------------------------------------------------------------
def test_extension_by_ten_workdays_once_then_refused_citing_the_article(seeded):
    case = _start_case(seeded, {"case": {"statutory": "20wd", "promised": "10wd"}})
    with pytest.raises(InvalidData, match=r"beyond the legal maximum of 10wd \(行政许可法第42条第1款\)"):
        seeded.deadlines.extend(case.id, "case", "11wd", basis="行政许可法第42条", approved_by="局长", actor="li")
    with pytest.raises(InvalidData, match="legal maximum of 10wd"):
        seeded.deadlines.extend(case.id, "case", "14d", basis="行政许可法第42条", approved_by="局长", actor="li")
    with pytest.raises(InvalidData, match="needs the approver"):
        seeded.deadlines.extend(case.id, "case", "10wd", basis="行政许可法第42条", approved_by=" ", actor="li")

    status = seeded.deadlines.extend(case.id, "case", "10wd", basis="行政许可法第42条", approved_by="局长", actor="li")
    assert _due_day(status, "statutory") == date(2026, 11, 5)
    assert status.extension == {"by": "10wd", "basis": "行政许可法第42条", "approved_by": "局长"}
    with pytest.raises(InvalidData, match="already extended by 10wd; 行政许可法第42条第1款 allows one extension only"):
        seeded.deadlines.extend(case.id, "case", "1wd", basis="行政许可法第42条", approved_by="局长", actor="li")
    with seeded.db.session() as s:
        actions = [e.action for e in s.query(AuditEvent).filter_by(case_id=case.id).order_by(AuditEvent.seq)]
    assert actions.count("limit_extended") == 1


def test_no_extension_for_a_limit_no_law_extends(engine):
    case = _start_case(engine, {"case": {"statutory": "12wd", "promised": "10wd"}})
    with pytest.raises(InvalidData, match="no law allows extending a statutory limit of 12wd"):
        engine.deadlines.extend(case.id, "case", "2wd", basis="?", approved_by="局长", actor="li")


def test_extension_moves_both_the_statutory_and_the_promised_due_date():
    cal = workcal.WorkdayCalendar.from_holidays(workcal.package_years())
    facts = ClockFacts("case", _local(2026, 9, 18), statutory=Limit(20, "wd"), promised=Limit(10, "wd"),
                       extension=Limit(10, "wd"))  # fmt: skip
    status = stage_status(cal, facts, [], _local(2026, 9, 18))
    assert _due_day(status, "statutory") == date(2026, 11, 5)
    assert _due_day(status) == cal.add_workdays(date(2026, 10, 9), 10).day


# -- clock stops -----------------------------------------------------------------------------------------------
def test_clock_stop_of_three_workdays_across_a_weekend_moves_due_by_exactly_three_workdays(seeded, clock):
    case = _start_case(seeded, {"case": {"statutory": "20wd", "promised": "10wd"}})
    before = seeded.deadlines.stage(case.id, "case")
    clock.set(_local(2026, 10, 16, 10))  # a Friday
    seeded.deadlines.stop_clock(case.id, "expert_review", basis="行政许可法第45条", actor="li")
    stopped = seeded.deadlines.case_limits(case.id)
    assert stopped.stopped and stopped.stage("case").stopped
    clock.set(_local(2026, 10, 21, 10))  # the Wednesday after: Mon, Tue, Wed stood still
    seeded.deadlines.resume_clock(case.id, actor="li")
    after = seeded.deadlines.stage(case.id, "case")
    cal = deadlines.calendar_for(seeded)
    assert not after.stopped and after.stopped_days == 3
    assert _due_day(after, "statutory") == cal.add_workdays(_due_day(before, "statutory"), 3).day
    assert cal.workdays_between(_due_day(before), _due_day(after)) == 3
    with pytest.raises(InvalidData, match="not stopped"):
        seeded.deadlines.resume_clock(case.id, actor="li")


def test_clock_stop_without_a_lawful_reason_is_refused(engine):
    case = _start_case(engine, {"case": {"statutory": "20wd"}})
    with pytest.raises(InvalidData, match="a clock stop needs a reason"):
        engine.deadlines.stop_clock(case.id, "", actor="li")
    with pytest.raises(InvalidData, match="'holiday' is not one the law allows"):
        engine.deadlines.stop_clock(case.id, "holiday", actor="li")
    assert not engine.deadlines.case_limits(case.id).stopped


def test_clock_stop_property_without_reason_marks_the_case_error_at_that_element(engine, deploy):
    deploy("tl_bad_stop.bpmn")
    case = engine.runtime.start("tl_bad_stop", {})
    task = engine.tasks.query(case_id=case.id)[0]
    with pytest.raises(CaseScriptError, match="stopped at pause: a clock stop needs a reason"):
        engine.tasks.complete(task.id, "li", {})
    view = engine.runtime.describe(case.id)
    assert view["status"] == "error" and view["error"]["element"] == "pause"


def test_hearing_activity_stops_every_running_clock_while_it_is_active(seeded, clock):
    case = _start_case(seeded, {"case": {"statutory": "20wd", "promised": "10wd"}})
    review = seeded.tasks.query(case_id=case.id)[0]
    seeded.tasks.complete(review.id, "li", {})
    assert seeded.deadlines.stage(case.id, "review").running is False
    assert seeded.deadlines.case_limits(case.id).stopped  # the hearing is active
    clock.advance(days=7)
    hearing = seeded.tasks.query(case_id=case.id)[0]
    assert hearing.bpmn_id == "hearing"
    seeded.tasks.complete(hearing.id, "li", {})
    status = seeded.deadlines.stage(case.id, "case")
    assert not status.stopped and status.stopped_days == deadlines.calendar_for(seeded).workdays_between(
        date(2026, 9, 18), date(2026, 9, 25))  # fmt: skip


# -- colours ---------------------------------------------------------------------------------------------------
def test_colour_walks_green_yellow_red_red_plus_over_twenty_workdays_across_national_day():
    cal = workcal.WorkdayCalendar.from_holidays(workcal.package_years())
    facts = ClockFacts("case", _local(2026, 9, 18), statutory=Limit(20, "wd"), promised=Limit(10, "wd"))
    colours = {}
    day = date(2026, 9, 18)
    while day <= date(2026, 10, 24):
        colours[day] = stage_status(cal, facts, [], _local(day.year, day.month, day.day, 12)).colour
        day += timedelta(days=1)
    assert colours[date(2026, 9, 18)] == "green"
    # Promised due 10-09; yellow once at most 2 working days are left (09-30: 10-08 and 10-09 left).
    assert colours[date(2026, 9, 29)] == "green" and colours[date(2026, 9, 30)] == "yellow"
    assert colours[date(2026, 10, 4)] == "yellow" and colours[date(2026, 10, 9)] == "yellow"
    assert colours[date(2026, 10, 10)] == "red" and colours[date(2026, 10, 22)] == "red"
    assert colours[date(2026, 10, 23)] == "red_plus"
    status = stage_status(cal, facts, [], _local(2026, 9, 18))
    assert status.warn_at == datetime(2026, 9, 30, tzinfo=LOCAL_TZ)


def test_colour_policy_is_configurable_and_eighty_percent_rule_applies():
    cal = workcal.WorkdayCalendar.from_holidays(workcal.package_years())
    facts = ClockFacts("review", _local(2026, 9, 18), statutory=Limit(20, "wd"), promised=Limit(20, "wd"))
    # 80 % of 20 wd used on the 16th working day (10-16) while 4 working days are still left.
    assert stage_status(cal, facts, [], _local(2026, 10, 15)).colour == "green"
    assert stage_status(cal, facts, [], _local(2026, 10, 16)).colour == "yellow"
    strict = ColourPolicy(warn_workdays=5, warn_ratio=0.5)
    assert stage_status(cal, facts, [], _local(2026, 10, 8), strict).colour == "green"
    assert stage_status(cal, facts, [], _local(2026, 10, 9), strict).colour == "yellow"  # 10 of 20 used


def test_a_limit_no_longer_than_the_warning_window_is_not_yellow_when_it_starts():
    """The acceptance stage (1 wd promised) turns yellow on its due day by the share used, not at its start."""
    cal = workcal.WorkdayCalendar.from_holidays(workcal.package_years())
    accept = ClockFacts("accept", _local(2026, 9, 18, 9), statutory=Limit(5, "wd"), promised=Limit(1, "wd"))
    at_start = stage_status(cal, accept, [], _local(2026, 9, 18, 9))
    assert at_start.colour == "green" and at_start.warn_at > accept.started_at
    assert at_start.warn_at == datetime(2026, 9, 20, tzinfo=LOCAL_TZ)  # its due day (a 调休 working day)
    assert stage_status(cal, accept, [], _local(2026, 9, 19, 12)).colour == "green"
    assert stage_status(cal, accept, [], _local(2026, 9, 20, 9)).colour == "yellow"
    two = ClockFacts("copy", _local(2026, 9, 18, 9), promised=Limit(2, "wd"))
    assert stage_status(cal, two, [], _local(2026, 9, 18, 9)).colour == "green"
    assert stage_status(cal, two, [], _local(2026, 9, 21, 9)).colour == "yellow"  # 2 of 2 used


def test_finished_stage_keeps_the_colour_it_finished_with():
    cal = workcal.WorkdayCalendar.from_holidays(workcal.package_years())
    late = ClockFacts("review", _local(2026, 9, 18), _local(2026, 9, 30), promised=Limit(5, "wd"))
    assert stage_status(cal, late, [], _local(2026, 12, 1)).colour == "red"
    on_time = ClockFacts("review", _local(2026, 9, 18), _local(2026, 9, 21), promised=Limit(5, "wd"))
    assert stage_status(cal, on_time, [], _local(2026, 12, 1)).colour == "green"


def test_overlapping_stops_are_counted_once():
    cal = workcal.WorkdayCalendar.from_holidays(workcal.package_years())
    facts = ClockFacts("case", _local(2026, 10, 12), statutory=Limit(20, "wd"), promised=Limit(20, "wd"))
    one = [Interval(_local(2026, 10, 12), _local(2026, 10, 15))]
    two = one + [Interval(_local(2026, 10, 13), _local(2026, 10, 14))]
    now = _local(2026, 10, 20)
    assert stage_status(cal, facts, one, now).stopped_days == stage_status(cal, facts, two, now).stopped_days == 3


def test_due_date_in_an_uncovered_year_is_provisional(seeded, clock):
    clock.set(_local(2026, 12, 15))
    case = _start_case(seeded, {"case": {"statutory": "20wd", "promised": "10wd"}})
    status = seeded.deadlines.stage(case.id, "case")
    assert status.provisional and status.statutory_due.year == 2027
    assert seeded.deadlines.case_limits(case.id).as_json()["case"]["provisional"] is True
    clock.set(_local(2026, 9, 18))


# -- multi-instance and script functions -----------------------------------------------------------------------
def test_each_co_department_gets_its_own_stage_clock(engine, deploy):
    deploy("tl_joint.bpmn")
    case = engine.runtime.start("tl_joint", {"department": "qx-scjg", "co_departments": ["qx-xf", "qx-sthj"]})
    engine.tasks.complete(engine.tasks.query(case_id=case.id)[0].id, "li", {})
    limits = engine.deadlines.case_limits(case.id)
    assert sorted(s.stage for s in limits.stages if s.running) == ["co_review:qx-sthj", "co_review:qx-xf"]
    assert limits.stage("accept").running is False
    fire = next(t for t in engine.tasks.query(case_id=case.id) if t.candidate_groups == ["reviewer@qx-xf"])
    engine.tasks.complete(fire.id, "fire.officer", {})
    limits = engine.deadlines.case_limits(case.id)
    assert [s.stage for s in limits.stages if s.running] == ["co_review:qx-sthj"]
    assert limits.stage("co_review:qx-sthj").promised == "5wd"
    with pytest.raises(NotFound, match="no clock for stage 'decide'"):
        engine.deadlines.stage(case.id, "decide")


def test_calendar_functions_in_expressions_return_aware_iso_strings(engine):
    sandbox = engine.sandbox()
    assert sandbox.evaluate("workdays_after(20, '2026-09-18')", {}) == "2026-10-22T23:59:59+08:00"
    assert sandbox.evaluate("days_after(30, '2026-09-18T10:00:00+08:00')", {}) == "2026-10-19T23:59:59+08:00"
    assert sandbox.evaluate("workdays_after(0)", {}) == "2026-09-18T23:59:59+08:00"
    assert datetime.fromisoformat(sandbox.evaluate("now()", {})).utcoffset() == timedelta(hours=8)
    with pytest.raises(InvalidData, match="whole number"):
        sandbox.evaluate("workdays_after(-1)", {})
    with pytest.raises(InvalidData, match=r"deadline\(\) works only while a case runs"):
        sandbox.evaluate("deadline('case')", {})


# -- the terminal ----------------------------------------------------------------------------------------------
def _govflow(database_url, *args, expect=0):
    from tests.conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "engine.cli", "--db", database_url, *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert proc.returncode == expect, (args, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def test_calendar_commands_add_show_set_and_flag_provisional(engine, database_url, tmp_path):
    assert _govflow(database_url, "calendar", "add", "2026-09-18", "20wd").stdout.strip() == "2026-10-22 周四"
    assert _govflow(database_url, "calendar", "add", "2026-12-20", "20wd").stdout.strip().endswith("(provisional)")
    shown = json.loads(_govflow(database_url, "calendar", "show", "2027", "--json").stdout)
    assert shown["provisional"] is True
    _govflow(database_url, "calendar", "seed", "--years", "2026")
    spring = json.loads(_govflow(database_url, "calendar", "show", "2026", "--json").stdout)
    assert {"date": "2026-02-14", "workday": True, "name": "调休上班"} in spring["days"]  # a 调休 Saturday
    _govflow(database_url, "calendar", "set", "2026-10-09", "rest", "--reason", "台风停工")
    assert _govflow(database_url, "calendar", "add", "2026-09-18", "20wd").stdout.startswith("2026-10-23")
    bad = _govflow(database_url, "calendar", "set", "2026-10-09", "rest", expect=2)  # --reason is required
    assert "--reason" in bad.stderr
    wrong = _govflow(database_url, "calendar", "add", "2026-09-18", "20w", expect=1)
    assert wrong.stderr.strip() == "error: PERIOD: '20w' is not a time limit like '20wd' (working days) or '60d' (days)"
