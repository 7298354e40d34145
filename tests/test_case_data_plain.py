"""Case data is plain JSON at the end of every step (engine.case_data): what a script leaves is made plain where
that loses nothing and is a case error naming the element and the variable otherwise; the same for case data
over the size limit and for a timer that would wait longer than the engine can count."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from engine.errors import CaseScriptError
from engine.process_engine import ProcessEngine
from engine.store import AuditEvent, Case
from tests.conftest import FIXTURES

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://t">
  <bpmn:process id="plain" isExecutable="true">
    <bpmn:startEvent id="received"/>
    <bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="enter"/>
    <bpmn:userTask id="enter" name="录入" camunda:candidateGroups="clerk"/>
    <bpmn:sequenceFlow id="f2" sourceRef="enter" targetRef="calc"/>
    {step}
    <bpmn:sequenceFlow id="f3" sourceRef="calc" targetRef="pay"/>
    <bpmn:userTask id="pay" name="缴费" camunda:candidateGroups="clerk"/>
    <bpmn:sequenceFlow id="f4" sourceRef="pay" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _script(source: str) -> str:
    return f'<bpmn:scriptTask id="calc"><bpmn:script>{escape(source)}</bpmn:script></bpmn:scriptTask>'


def _timer(expression: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="calc"><bpmn:timerEventDefinition><bpmn:timeDuration>{escape(expression)}'
            "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")  # fmt: skip


def _started(engine, tmp_path, step: str):
    path = tmp_path / "plain.bpmn"
    path.write_text(DIAGRAM.format(step=step), encoding="utf-8")
    engine.repository.deploy_file(path, "designer")
    case = engine.runtime.start("plain", {"applicant": "张三"})
    [task] = engine.tasks.query(case_id=case.id)
    return case, task


def _row(engine, case_id):
    with engine.db.session() as s:
        case = s.get(Case, case_id)
        events = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case_id))
        return case.state, case.data, events


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = {3, 1, 2}", [1, 2, 3]),
        ("x = frozenset(['b', 'a'])", ["a", "b"]),
        ("x = (1, (2, 3))", [1, [2, 3]]),
        ("x = {2026: 'a', 'n': {1: True}}", {"2026": "a", "n": {"1": True}}),
        ("x = {'tags': {('b', 1), ('a', 2)}, 'f': 1.5}", {"tags": [["a", 2], ["b", 1]], "f": 1.5}),
    ],
)
def test_a_value_that_becomes_plain_json_without_loss_is_stored_plain(engine, tmp_path, source, expected):
    case, task = _started(engine, tmp_path, _script(source))
    engine.tasks.complete(task.id, "li.wei", {})
    assert engine.runtime.describe(case.id)["data"]["x"] == expected
    # The next step restores the workflow from the saved state: the value it holds there is the same.
    [pay] = engine.tasks.query(case_id=case.id)
    engine.tasks.complete(pay.id, "li.wei", {})
    view = engine.runtime.describe(case.id)
    assert view["status"] == "completed" and view["data"]["x"] == expected


@pytest.mark.parametrize(
    ("source", "variable", "problem"),
    [
        ("x = {1, 'a'}", "x", "cannot be put in order"),
        ("x = b'ab'", "x", "binary data"),
        ("x = 10 ** 5000", "x", "more than 4,300 digits"),
        ("x = float('nan')", "x", "nan"),
        ("x = float('-inf')", "x", "-inf"),
        ("x = {'a': [1, {(1, 2): 3}]}", "x['a'][1]", "key (1, 2)"),
        ("x = {1: 'a', '1': 'b'}", "x", "both the key 1 and the key '1'"),
        ("x = {True: 1}", "x", "key True"),
        ("x = chr(55296)", "x", "not valid Unicode"),
        ("x = [1, {'k': b''}]", "x[1]['k']", "binary data"),
    ],
)
def test_a_value_that_is_not_json_is_a_case_error_naming_element_and_variable(engine, tmp_path, source, variable,
                                                                               problem):  # fmt: skip
    case, task = _started(engine, tmp_path, _script(source))
    before_state, before_data, events = _row(engine, case.id)
    with pytest.raises(CaseScriptError) as info:
        engine.tasks.complete(task.id, "li.wei", {})
    assert info.value.element_id == "calc"
    assert f"variable '{variable}'" in info.value.message and problem in info.value.message
    view = engine.runtime.describe(case.id)
    assert view["status"] == "error" and view["error"]["element"] == "calc"
    state, data, after_events = _row(engine, case.id)
    assert (state, data, after_events) == (before_state, before_data, events + 1)  # rolled back, error recorded
    assert all(r.ok for r in engine.history.verify(case.id))


def test_case_data_over_the_limit_is_a_case_error_naming_the_variable(engine, tmp_path):
    # str.replace is one C call the sandbox's size guards do not see: a 5 MB text in one script step.
    case, task = _started(engine, tmp_path, _script("big = 'ab'.replace('b', 'b' * 500000).replace('b', 'c' * 10)"))
    with pytest.raises(CaseScriptError) as info:
        engine.tasks.complete(task.id, "li.wei", {})
    assert info.value.element_id == "calc"
    assert "variable 'big'" in info.value.message and "over the limit of 1,000,000" in info.value.message
    view = engine.runtime.describe(case.id)
    assert view["status"] == "error" and "big" not in view["data"]


def test_the_case_data_limit_is_configurable(engine, tmp_path):
    small = ProcessEngine(engine.db, clock=engine.clock, forms_dir=FIXTURES / "forms", case_data_limit=2000)
    case, task = _started(small, tmp_path, _script("note = 'x' * 3000"))
    with pytest.raises(CaseScriptError, match="variable 'note' makes the case data 3,0[0-9][0-9] bytes"):
        small.tasks.complete(task.id, "li.wei", {})
    case, task = _started(engine, tmp_path, _script("note = 'x' * 3000"))
    engine.tasks.complete(task.id, "li.wei", {})  # the default limit takes it
    assert len(engine.runtime.describe(case.id)["data"]["note"]) == 3000


@pytest.mark.parametrize("expression", ["P999999999Y", "PT99999999999999999999H", "'P' + str(10 ** 30) + 'D'"])
def test_a_timer_longer_than_a_century_is_a_case_error_not_a_hang(engine, tmp_path, expression):
    case, task = _started(engine, tmp_path, _timer(expression))
    started = time.monotonic()
    with pytest.raises(CaseScriptError) as info:
        engine.tasks.complete(task.id, "li.wei", {})
    assert time.monotonic() - started < 5
    assert info.value.element_id == "calc" and "longer than 100 years" in info.value.message
    assert engine.runtime.describe(case.id)["status"] == "error"


def test_a_timer_of_a_few_decades_still_waits(engine, tmp_path):
    case, task = _started(engine, tmp_path, _timer("P30Y"))
    engine.tasks.complete(task.id, "li.wei", {})
    view = engine.runtime.describe(case.id)
    assert view["status"] == "running" and view["next_timer_at"].startswith("2056-09-18")
