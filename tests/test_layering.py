"""The layers (docs/architecture.md): no import circle between areas, nothing imported from the store upward, and
the case step's phases declared once, in the engine's configuration, with no listener of the store driving the
statistics."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import supervision_world as world
from sqlalchemy import func, select

from bench import import_graph
from engine import statistics_rollup
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


def test_no_database_drives_statistics_the_writers_tell_the_roll_up(engine):
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
    with engine.db.write_session() as session, session.begin():  # nor the engine's: no listener counts a write
        session.get(SupervisedCase, case.id).extensions = 3
    assert extensions() == 0
    with engine.db.write_session() as session, session.begin():  # a writer says what it changed
        row = session.get(SupervisedCase, case.id)
        before = statistics_rollup.counted(row)
        row.extensions = 4
        statistics_rollup.row_written(session, before, row)
        statistics_rollup.write(session)
    assert extensions() == 1


# What the web, the API and the CLI ask of supervision goes through the service on the engine facade
# (engine.supervision): calling the areas' functions with an engine of their own would be a second door.
AREA_CALLS = {
    "supervision_actions": {"suspend", "resume", "terminate", "retry", "reassign"},
    "alerts_board": {
        "list_alerts",
        "alert_page",
        "acknowledge",
        "acknowledge_all",
        "issue_letter",
        "record_accountability",
        "accountability_records",
    },
    "statistics": {"figures", "monthly_volume", "ranking"},
    "supervision": {"scope_of", "list_cases", "export_csv", "get_case", "case_colour", "stage_keys"},
    "replay": {"replay", "current_state"},
    "supervision_index": {"rebuild"},
}


def test_callers_reach_supervision_through_the_engine_facade():
    root = Path(__file__).resolve().parent.parent
    found = []
    for path in sorted([*root.glob("webui/*.py"), *root.glob("engine/cli/*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                    and n.module.startswith("engine") for a in n.names}  # fmt: skip
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("engine."):
                area = node.module.split(".")[-1]
                found += [f"{path.name}: from {node.module} import {a.name}" for a in node.names
                          if a.name in AREA_CALLS.get(area, ())]  # fmt: skip
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                module = node.value.id
                if module in imported and node.attr in AREA_CALLS.get(module, ()):
                    found.append(f"{path.name}:{node.lineno}: {module}.{node.attr}")
    assert not found
