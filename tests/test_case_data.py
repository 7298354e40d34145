"""The case data rule (engine.case_data): a task's changes, not its copy, are applied to the case's variables."""

from __future__ import annotations

import json

from engine import case_data, workflow, workflow_parsing
from engine.sandbox import Sandbox
from tests.conformance.test_conformance import DIAGRAMS


def _applied(scope: dict, before: dict, after: dict) -> dict:
    case_data.apply([scope], case_data.changes(before, after), after)
    return scope


def test_a_stale_copy_appends_and_sets_keys_without_undoing_newer_values():
    scope = {"opinions": ["a", "b"], "verdicts": {"a": "agree"}, "x": 1}
    # The task started when the list had one entry and the map none.
    before = {"opinions": ["a"], "verdicts": {}, "x": 0}
    after = {"opinions": ["a", "c"], "verdicts": {"c": "veto"}, "x": 0}
    assert _applied(scope, before, after) == {
        "opinions": ["a", "b", "c"],
        "verdicts": {"a": "agree", "c": "veto"},
        "x": 1,
    }


def test_items_changed_in_place_removed_variables_and_shortened_lists():
    scope = {"reviews": [{"d": "a", "v": None}, {"d": "b", "v": None}], "tmp": 1, "queue": [1, 2, 3], "n": 1}
    before = {"reviews": [{"d": "a", "v": None}, {"d": "b", "v": None}], "tmp": 1, "queue": [1, 2, 3], "n": 1}
    after = {"reviews": [{"d": "a", "v": None}, {"d": "b", "v": "veto"}], "queue": [2, 3], "n": True}
    assert _applied(scope, before, after) == {
        "reviews": [{"d": "a", "v": None}, {"d": "b", "v": "veto"}],
        "queue": [2, 3],
        "n": True,  # 1 and True are the same in Python, not in the case's JSON
    }


def test_a_change_whose_place_is_gone_sets_the_whole_variable():
    scope = {"reviews": {}}  # another task emptied the map meanwhile
    before = {"reviews": {"a": {"verdict": None}}}
    after = {"reviews": {"a": {"verdict": "agree"}}}
    assert _applied(scope, before, after) == {"reviews": {"a": {"verdict": "agree"}}}


def test_a_new_variable_goes_to_the_innermost_scope_a_known_one_to_the_scope_holding_it():
    case, instance = {"opinions": []}, {"item": "a"}
    found = case_data.changes({"opinions": [], "item": "a"}, {"opinions": ["a"], "item": "A", "note": "n"})
    case_data.apply([case, instance], found, {})
    assert case == {"opinions": ["a"]}
    assert instance == {"item": "A", "note": "n"}


def test_a_state_saved_before_the_case_kept_its_variables_still_loads():
    [bundle] = workflow_parsing.parse(
        (DIAGRAMS / "parallel_append.bpmn").read_bytes(), "parallel_append.bpmn"
    ).processes
    engine = workflow.script_engine(Sandbox())
    flow = workflow.CaseWorkflow.start(bundle, {"opinions": ["earlier"]}, engine)
    flow.run_engine_steps()
    state, version = flow.dump()
    dct = json.loads(state)
    dct["tasks"][dct["root"]]["internal_data"].pop(case_data.CASE_KEY)
    old = workflow.CaseWorkflow.load(bundle, json.dumps(dct), version, engine)
    assert old.current_data() == {"opinions": ["earlier"]}
    [review_a] = [t for t in old.user_tasks() if t.bpmn_id == "review_a"]
    old.complete(review_a.id, {"opinion": "agree"})
    assert old.current_data()["opinions"] == ["earlier", "a:agree"]


def test_plain_variable_keeps_plain_values_as_they_are_and_converts_only_what_it_must():
    value = {"a": [1, 2.5, None, True, "文"], "b": {"c": []}}
    assert case_data.plain_variable("v", value) is value  # nothing copied when nothing changes
    converted = case_data.plain_variable("v", {"a": (1, {2, 1}), 7: "x"})
    assert converted == {"a": [1, [1, 2]], "7": "x"}
    assert json.loads(json.dumps(converted)) == converted


def test_plain_variable_names_the_place_of_what_cannot_be_converted():
    try:
        case_data.plain_variable("fees", {"items": [{"amount": float("inf")}]})
    except case_data.NotPlainData as exc:
        assert exc.variable == "fees['items'][0]['amount']" and "inf" in exc.message
    else:
        raise AssertionError("an infinite amount was taken as plain JSON")
