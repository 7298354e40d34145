"""`govflow lint` and deploy refusals: every finding names file, line and element; the MIWG corpus never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import LintFailed
from engine.lint import lint_file, lint_source
from tests.conftest import FIXTURES, ROOT

MIWG = ROOT.parent / "shared" / "corpora" / "miwg"
MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://t">
  <bpmn:process id="p" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>
"""


def _lint(body: str):
    return lint_source(MINIMAL.format(body=body).encode(), "x.bpmn", FIXTURES / "forms")


def _messages(findings):
    return [f.format() for f in findings]


def test_fixtures_lint_clean():
    for path in sorted(FIXTURES.glob("*.bpmn")):
        assert lint_file(path, FIXTURES / "forms") == [], path.name


def test_malformed_xml_names_file_and_line():
    findings = lint_source(b"<?xml version='1.0'?>\n<bpmn:definitions xmlns:bpmn='x'>\n<oops>\n", "bad.bpmn")
    assert len(findings) == 1
    assert findings[0].filename == "bad.bpmn" and findings[0].line >= 3
    assert "malformed XML" in findings[0].message


def test_not_bpmn_root():
    findings = lint_source(b"<html><body/></html>", "page.bpmn")
    assert _messages(findings) == ["page.bpmn:1: -: not a BPMN 2.0 file: root element is <html>"]


def test_dangling_flow_names_flow_and_line():
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ghost"/>
    <bpmn:endEvent id="e"/>""")
    text = _messages(findings)
    assert text == [
        "x.bpmn:6: f1: sequence flow targetRef 'ghost' is not an element of this process",
        "x.bpmn:7: e: endEvent has no incoming sequence flow: it can never be reached",
    ]


def test_gateway_without_condition_or_default():
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <bpmn:exclusiveGateway id="g"/>
    <bpmn:sequenceFlow id="a" sourceRef="g" targetRef="e1"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="b" sourceRef="g" targetRef="e2"/>
    <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>""")
    assert [f.element_id for f in findings] == ["b"]
    assert "without a condition and is not its default flow" in findings[0].message


def test_expressions_are_compiled_in_the_sandbox():
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:scriptTask id="t"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="w"/>
    <bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>${duration}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="w" targetRef="g"/>
    <bpmn:exclusiveGateway id="g" default="f5"/>
    <bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e"><bpmn:conditionExpression>x ==</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="g" targetRef="e"/>
    <bpmn:endEvent id="e"/>""")
    by_id = {f.element_id: f.message for f in findings}
    assert by_id["t"].startswith("script: ") and "import" in by_id["t"]
    assert "Camunda expression language" in by_id["w"]
    assert by_id["f4"].startswith("condition 'x ==':")


def test_bare_iso_timer_literal_is_accepted():
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="w"/>
    <bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>PT5S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="w" targetRef="e"/>
    <bpmn:endEvent id="e"/>""")
    assert findings == []


def test_user_task_needs_performer_and_existing_form_and_no_reserved_id():
    findings = _lint("""    <bpmn:startEvent id="Start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="u"/>
    <bpmn:userTask id="u" camunda:formKey="missing/form"/>
    <bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>
    <bpmn:endEvent id="e"/>""")
    text = _messages(findings)
    assert any("Start: id 'Start' is reserved" in m for m in text)
    assert any(": u: user task has no lane, candidate groups" in m for m in text)
    assert any(": u: form 'missing/form' not found in forms/" in m for m in text)


def test_no_executable_process():
    src = MINIMAL.format(body="").replace('isExecutable="true"', 'isExecutable="false"')
    assert [f.message for f in lint_source(src.encode(), "x.bpmn")] == [
        'no executable process: set isExecutable="true"'
    ]


def test_xsd_error_is_reported_with_line():
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:bogus/></bpmn:endEvent>""")
    assert len(findings) == 1
    assert findings[0].line == 7 and "bogus" in findings[0].message


def test_deploy_refuses_a_file_with_findings(engine, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text(MINIMAL.format(body='<bpmn:startEvent id="s"/>'))
    with pytest.raises(LintFailed) as info:
        engine.repository.deploy_file(bad)
    assert all(f.filename == str(bad) for f in info.value.findings)
    assert engine.repository.list() == []


@pytest.mark.parametrize("path", sorted(MIWG.glob("*.bpmn")), ids=lambda p: p.name)
def test_miwg_corpus_deploys_or_is_refused_clearly(engine, path: Path):
    try:
        deployed = engine.repository.deploy_file(path)
    except LintFailed as exc:
        assert exc.findings
        for f in exc.findings:
            assert f.filename == str(path)
            assert f.message and f.element_id
            assert f.format().startswith(f"{path}:{f.line}: {f.element_id}: ")
    else:
        assert deployed and all(d.version == 1 for d in deployed)


def test_miwg_corpus_is_present():
    assert len(list(MIWG.glob("*.bpmn"))) == 21


def test_several_conditional_and_default_flows_leaving_tasks_lint_clean():
    findings = _lint("""
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="review"/>
    <bpmn:userTask id="review" camunda:candidateGroups="clerk" default="f_other"/>
    <bpmn:sequenceFlow id="f_big" sourceRef="review" targetRef="big"><bpmn:conditionExpression>amount &gt; 10</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_other" sourceRef="review" targetRef="other"/>
    <bpmn:scriptTask id="big"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="other"><bpmn:script>x = 2</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f_b1" sourceRef="big" targetRef="e1"/>
    <bpmn:sequenceFlow id="f_b2" sourceRef="big" targetRef="e2"/>
    <bpmn:sequenceFlow id="f_o" sourceRef="other" targetRef="e1"/>
    <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>""")  # fmt: skip
    assert _messages(findings) == []


def test_a_condition_on_a_flow_leaving_an_event_is_refused_naming_the_flow():
    findings = _lint("""
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="registered"/>
    <bpmn:intermediateThrowEvent id="registered"/>
    <bpmn:sequenceFlow id="f_a" sourceRef="registered" targetRef="e1"><bpmn:conditionExpression>ok</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_b" sourceRef="registered" targetRef="e2"/>
    <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>""")  # fmt: skip
    [finding] = findings
    assert (finding.line, finding.element_id) == (9, "f_a")
    assert "conditional sequence flow leaving event 'registered'" in finding.message
    assert "exclusive gateway" in finding.message
