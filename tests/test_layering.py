"""The layers (docs/architecture.md): no import circle between areas, nothing imported from the store upward, and
the case step's phases declared once, in the engine's configuration, with no listener of the store driving the
statistics."""

from __future__ import annotations

import pytest
import supervision_world as world
from sqlalchemy import func, select

from bench import import_graph
from engine.store import Database
from engine.store.supervision import DailyFigures, SupervisedCase


@pytest.mark.parametrize("with_functions", [False, True], ids=["module level", "in functions too"])
def test_no_import_circle_between_areas_and_nothing_imported_from_the_store_upward(with_functions):
    edges, _inside = import_graph.graph(with_functions)
    mixed = [c for c in import_graph.circles(edges) if len({import_graph.area(m) for m in c}) > 1]
    assert mixed == []
    upward = {(m, t) for m, targets in edges.items() if import_graph.area(m) == "engine.store" for t in targets
              if import_graph.area(t) != "engine.store"}  # fmt: skip
    assert upward == set()


def test_the_areas_run_their_steps_through_the_pipeline_not_the_services_unit_of_work():
    edges, _inside = import_graph.graph(with_functions=True)
    for area in ("engine.scheduler", "engine.timekeeping", "engine.supervision_actions", "engine.catalog"):
        assert "engine.services.casework" not in edges[area], area


def test_the_pipeline_runs_its_phases_in_their_declared_order(engine):
    names = engine.pipeline.names()
    assert names[:2] == ["load & lock", "apply"] and names[-2:] == ["statistics roll-up", "commit"]
    order = [names.index(n) for n in ("stage clocks", "state", "tasks", "audit", "supervision row and procedure "
                                      "rules")]  # fmt: skip
    assert order == sorted(order)


def test_the_store_alone_drives_no_statistics_the_engine_attaches_the_roll_up(engine):
    world.build(engine)
    case = world.start(engine, "town-a")

    def extensions():
        with engine.db.session() as session:
            query = select(func.sum(DailyFigures.extensions)).where(DailyFigures.grain == "department")
            return session.scalar(query)

    assert extensions() == 0
    bare = Database(engine.db.url)  # the store without the engine's configuration: nothing follows its writes
    try:
        with bare.write_session() as session, session.begin():
            session.get(SupervisedCase, case.id).extensions = 2
    finally:
        bare.dispose()
    assert extensions() == 0
    with engine.db.write_session() as session, session.begin():  # the engine's database: the roll-up follows
        session.get(SupervisedCase, case.id).extensions = 3
    assert extensions() == 1
