"""The alerts board (engine/alerts_board.py): one page of alerts at a time, counted by the database, and several
alerts acknowledged with one note, each recorded as a single acknowledgement is."""

from __future__ import annotations

from datetime import date

import pytest
import supervision_world as world
from sqlalchemy import select

from engine.alerts_board import AlertFilter
from engine.errors import Forbidden, InvalidData, NotFound
from engine.store.supervision import AlertAction


@pytest.fixture
def county(engine):
    world.build(engine)
    return engine


def _refused(engine, department: str, officer: str = "clerk.a") -> int:
    """A case refused at acceptance without a reason: one procedure-rule alert; its id."""
    case = world.start(engine, department, officer=officer)
    world.complete(engine, case.id, "accept", officer, {"outcome": "refuse"})
    (alert,) = [a for a in engine.supervision.alerts(engine.supervision.scope(world.user(engine, "sup.county")))
                if a["case_id"] == case.id]  # fmt: skip
    return alert["id"]


def _scope(engine, username: str):
    return engine.supervision.scope(world.user(engine, username))


def test_the_board_shows_one_page_and_counts_every_alert_of_the_filter(county, clock):
    mine = []
    for _ in range(5):
        mine.append(_refused(county, "town-a"))
        clock.advance(minutes=5)
    _refused(county, "town-b", "clerk.b")
    scope = _scope(county, "sup.a")
    pages = [county.supervision.alert_page(scope, AlertFilter(limit=2, page=n)) for n in (1, 2, 3)]
    assert [(p.total, p.pages, len(p.rows)) for p in pages] == [(5, 3, 2), (5, 3, 2), (5, 3, 1)]
    assert [a["id"] for p in pages for a in p.rows] == mine[::-1]  # newest first, each alert once
    assert county.supervision.alert_page(scope, AlertFilter(limit=2, page=4)).rows == []
    assert county.supervision.alert_page(_scope(county, "sup.county"), AlertFilter(limit=2)).total == 6
    assert county.supervision.alert_page(scope, AlertFilter(kind="yellow")).total == 0
    for bad in (AlertFilter(limit=0), AlertFilter(page=0), AlertFilter(limit=201)):
        with pytest.raises(InvalidData):
            county.supervision.alert_page(scope, bad)


def _acknowledgements(engine) -> dict[int, tuple[str, str]]:
    with engine.db.session() as session:
        rows = session.scalars(select(AlertAction).where(AlertAction.kind == "acknowledge")).all()
    return {r.alert_id: (r.acted_by, r.note) for r in rows}


def test_alerts_acknowledged_together_with_one_note_are_each_recorded_and_leave_the_open_count(county):
    first, second, third = (_refused(county, "town-a") for _ in range(3))
    _refused(county, "town-b", "clerk.b")  # another town's: out of the supervisor's count
    supervisor = world.user(county, "sup.a")
    county.supervision.acknowledge(supervisor, first, "已核实")
    done = county.supervision.acknowledge_all(supervisor, [first, second, third, str(third)], "已电话提醒经办人")
    assert done == {"acknowledged": [second, third], "already": [first], "by": "sup.a"}
    assert _acknowledgements(county) == {first: ("sup.a", "已核实"), second: ("sup.a", "已电话提醒经办人"),
                                         third: ("sup.a", "已电话提醒经办人")}  # fmt: skip
    assert county.supervision.alert_page(_scope(county, "sup.a")).total == 0
    (town_a,) = [r for r in county.supervision.figures(_scope(county, "sup.county"), "department",
                                                       date(2026, 9, 1), date(2026, 9, 30)) if r.key == "town-a"]  # fmt: skip
    assert town_a.open_alerts == 0  # the statistics roll-up heard of each acknowledgement


def test_a_batch_with_an_alert_outside_the_scope_or_without_a_note_records_nothing(county):
    mine = _refused(county, "town-a")
    theirs = _refused(county, "town-b", "clerk.b")
    supervisor = world.user(county, "sup.a")
    with pytest.raises(NotFound):
        county.supervision.acknowledge_all(supervisor, [mine, theirs], "已核实")
    with pytest.raises(InvalidData, match="note"):
        county.supervision.acknowledge_all(supervisor, [mine], "  ")
    with pytest.raises(InvalidData, match="choose"):
        county.supervision.acknowledge_all(supervisor, [], "已核实")
    with pytest.raises(InvalidData, match="number"):
        county.supervision.acknowledge_all(supervisor, ["x"], "已核实")
    with pytest.raises(Forbidden):
        county.supervision.acknowledge_all(world.user(county, "clerk.a"), [mine], "已核实")
    assert _acknowledgements(county) == {}
