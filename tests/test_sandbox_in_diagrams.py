"""Sandbox escapes written into a diagram: refused by `govflow lint` and, if a diagram got past lint, at run time."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from engine import workflow, workflow_parsing
from engine.lint import lint_source
from tests.test_sandbox import ESCAPES

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="escape" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="{first}"/>
{body}
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _diagram(mode: str, source: str) -> bytes:
    if mode == "exec":
        body = f"""    <bpmn:scriptTask id="payload"><bpmn:script>{escape(source)}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="payload" targetRef="e"/>"""
        first = "payload"
    else:
        body = f"""    <bpmn:exclusiveGateway id="g" default="f3"/>
    <bpmn:sequenceFlow id="payload" sourceRef="g" targetRef="e"><bpmn:conditionExpression>{escape(source)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e"/>"""
        first = "g"
    return DIAGRAM.format(first=first, body=body).encode()


@pytest.mark.parametrize(("mode", "source"), ESCAPES)
def test_escape_in_diagram_is_refused_by_lint(mode, source):
    findings = lint_source(_diagram(mode, source), "escape.bpmn")
    assert findings and {f.element_id for f in findings} == {"payload"}, findings
    assert findings[0].line in (6, 7)


@pytest.mark.parametrize(("mode", "source"), ESCAPES)
def test_escape_in_diagram_is_refused_at_run_time(engine, mode, source):
    """Run the diagram straight through the adapter (as if lint had been bypassed): the case step fails with
    a ScriptFailure and the escape never executes."""
    [bundle] = workflow_parsing.parse(_diagram(mode, source), "escape.bpmn").processes
    flow = workflow.CaseWorkflow.start(bundle, {"x": 1, "d": {}}, engine.script_engine())
    with pytest.raises(workflow.ScriptFailure):
        flow.run_engine_steps()
    assert not flow.completed


def test_at_least_twenty_escapes():
    assert len(ESCAPES) >= 20
