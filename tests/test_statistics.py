"""Statistics equal figures computed by hand on a seeded data set that spans the 2026 Mid-Autumn and National Day
holidays (9-25 and 10-01..10-07 are rest days, Saturday 10-10 is a working day)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import supervision_world as world

from engine import alerts_board, statistics, statistics_rollup, supervision
from engine.clock import LOCAL_TZ
from engine.store import ClockStop, StageClock, SupervisionAlert


def at(month, day, hour=9):
    return datetime(2026, month, day, hour, tzinfo=LOCAL_TZ)


def _walk(engine, clock, department, officer, received, completed=None, *, promised=None, extension=None,
          stop=None, terminate=False):  # fmt: skip
    clock.set(received)
    case = world.start(engine, department, officer=officer)
    if promised:
        with engine.db.session() as session, session.begin():
            session.add(StageClock(case_id=case.id, stage="case", statutory="20wd", promised=promised,
                                   basis="行政许可法第42条", started_at=received, extension=extension))  # fmt: skip
            if stop:
                session.add(ClockStop(case_id=case.id, reason="testing", basis="行政许可法第45条", started_at=stop[0],
                                      ended_at=stop[1], started_by=officer))  # fmt: skip
    if terminate:
        engine.runtime.terminate(case.id, actor="sup.county", reason="申请人撤回")
        return case
    if completed is None:
        return case
    actor = "clerk.b" if department.startswith("town-b") else "clerk.a"
    for hours, bpmn_id, data in ((0, "accept", {"outcome": "accept"}), (1, "review", {}),
                                 (2, "decide", {"decision": "approve"})):  # fmt: skip
        clock.set(received + timedelta(hours=hours))
        world.complete(engine, case.id, bpmn_id, actor, data)
    clock.set(completed)
    world.complete(engine, case.id, "certificate", actor)
    return case


@pytest.fixture
def seeded(engine, clock):
    world.build(engine)
    c = {}
    # A1: 09-29 → 10-09: working days 09-30, 10-08, 10-09 = 3; promised 2 wd (due 10-08) → late.
    c["a1"] = _walk(engine, clock, "town-a", "clerk.a", at(9, 29), at(10, 9, 10), promised="2wd")
    # A2: 09-29 → 10-12: 09-30, 10-08, 10-09, 10-10 (调休上班), 10-12 = 5, less 1 stopped (10-08 → 10-09) = 4;
    # promised 10 wd + 1 stopped + 5 wd extension → on time.
    c["a2"] = _walk(engine, clock, "town-a", "clerk.a", at(9, 29), at(10, 12, 15), promised="10wd", extension="5wd",
                    stop=(at(10, 8), at(10, 9)))  # fmt: skip
    c["a3"] = _walk(engine, clock, "town-a-v1", "clerk.a2", at(9, 30))  # still open
    # B1: 09-24 → 09-28: 09-25 is 中秋节, then the weekend: 1 working day; no limit → on time.
    c["b1"] = _walk(engine, clock, "town-b", "clerk.b", at(9, 24), at(9, 28, 16))
    c["b2"] = _walk(engine, clock, "town-b", "clerk.b", at(9, 24, 11), terminate=True)
    c["late"] = _walk(engine, clock, "town-a", "clerk.a", at(10, 1, 10))  # received in October: outside September
    with engine.db.session() as session, session.begin():  # raised by hand, telling the roll-up as a writer does
        for key, kind in (("a3", "red"), ("a1", "yellow"), ("b1", "red")):
            alert = SupervisionAlert(case_id=c[key].id, receipt_no=c[key].receipt_no, stage="case", kind=kind,
                                     department=(engine.runtime.describe(c[key].id)["data"]["department"]),
                                     officers=["clerk.a"], raised_at=at(10, 12))  # fmt: skip
            session.add(alert)
            session.flush()
            statistics_rollup.alert_raised(session, alert)
        statistics_rollup.write(session)
    clock.set(at(10, 13))
    alert_a1 = next(a for a in alerts_board.list_alerts(engine, _scope(engine, "sup.a")) if a["kind"] == "yellow")
    alerts_board.acknowledge(engine, world.user(engine, "sup.a"), alert_a1["id"], "已核实，按时办理")
    return engine


def _scope(engine, username):
    return supervision.scope_of(engine, world.user(engine, username))


SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))


def _by_key(rows):
    return {r.key: r for r in rows}


def test_figures_per_department_equal_the_hand_computed_ones(seeded):
    rows = _by_key(statistics.figures(seeded, _scope(seeded, "sup.county"), "department", *SEPTEMBER))
    assert set(rows) == {"town-a", "town-a-v1", "town-b"}
    a = rows["town-a"]
    assert (a.received, a.completed, a.on_time) == (2, 2, 1)
    assert (a.completion_rate, a.on_time_rate) == (1.0, 0.5)
    assert (a.avg_working_days, a.p90_working_days) == (3.5, 4)
    assert (a.clock_stop_days, a.extensions, a.open_alerts) == (1, 1, 0)  # its one alert was acknowledged
    v = rows["town-a-v1"]
    assert (v.received, v.completed, v.completion_rate, v.on_time_rate, v.avg_working_days, v.open_alerts) == (
        1, 0, 0.0, None, None, 1)  # fmt: skip
    b = rows["town-b"]
    assert (b.received, b.completed, b.completion_rate, b.on_time_rate) == (2, 1, 0.5, 1.0)
    assert (b.avg_working_days, b.p90_working_days, b.open_alerts) == (1.0, 1, 1)


def test_figures_per_officer_month_and_quarter(seeded):
    scope = _scope(seeded, "sup.county")
    officers = _by_key(statistics.figures(seeded, scope, "officer", *SEPTEMBER))
    assert {k: (f.received, f.completed) for k, f in officers.items()} == {
        "clerk.a": (2, 2), "clerk.a2": (1, 0), "clerk.b": (2, 1)}  # fmt: skip
    month = statistics.figures(seeded, scope, "month", date(2026, 9, 1), date(2026, 10, 31))
    assert [m.key for m in month] == ["2026-09", "2026-10"]
    sept = month[0]
    assert (sept.received, sept.completed, sept.on_time) == (5, 3, 2)
    assert (sept.avg_working_days, sept.p90_working_days) == (round(8 / 3, 2), 4)  # days 1, 3, 4
    assert month[1].received == 1
    quarter = _by_key(statistics.figures(seeded, scope, "quarter", date(2026, 7, 1), date(2026, 12, 31)))
    assert set(quarter) == {"2026-Q3", "2026-Q4"}
    q3 = quarter["2026-Q3"]
    assert (q3.received, q3.completed, q3.avg_working_days, q3.p90_working_days) == (5, 3, round(8 / 3, 2), 4)


def test_a_town_supervisor_gets_only_the_towns_figures(seeded):
    rows = statistics.figures(seeded, _scope(seeded, "sup.b"), "department", *SEPTEMBER)
    assert [r.key for r in rows] == ["town-b"]
    csv_text = statistics.to_csv(rows)
    assert "town-b" in csv_text and "town-a" not in csv_text
    assert csv_text.startswith("\ufeff分组,名称,收件数")


def test_quarterly_ranking_of_windows_and_officers(seeded):
    scope = _scope(seeded, "sup.county")
    windows = statistics.ranking(seeded, scope, "department", 2026, 3)
    assert [w.key for w in windows] == ["town-b", "town-a"]  # on time 100 % beats 50 %
    officers = statistics.ranking(seeded, scope, "officer", 2026, 3)
    assert [o.key for o in officers] == ["clerk.b", "clerk.a"]  # clerk.a2 completed nothing
    assert statistics.quarter_window(2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))


def test_bad_grouping_and_window_are_refused(seeded):
    scope = _scope(seeded, "sup.county")
    with pytest.raises(Exception, match="by: 'colour'"):
        statistics.figures(seeded, scope, "colour", *SEPTEMBER)
    with pytest.raises(Exception, match="before it starts"):
        statistics.figures(seeded, scope, "department", date(2026, 9, 30), date(2026, 9, 1))
