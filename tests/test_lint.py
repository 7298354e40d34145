"""`govflow lint` and deploy refusals: every finding names file, line and element; the MIWG corpus never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import workflow_parsing
from engine.diagram import BpmnSourceError
from engine.errors import LintFailed, ProcessIdTaken
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
    <bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>${execution.getVariable('d')}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="w" targetRef="g"/>
    <bpmn:exclusiveGateway id="g" default="f5"/>
    <bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e"><bpmn:conditionExpression>x ==</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="g" targetRef="e"/>
    <bpmn:endEvent id="e"/>""")
    by_id = {f.element_id: f.message for f in findings}
    assert by_id["t"].startswith("script: ") and "import" in by_id["t"]
    assert "method calls (getVariable(...)) are not allowed" in by_id["w"]
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


# -- every refusal names the construct and the element, and says what to do (tests/fixtures/lint/)
LINT_FIXTURES = FIXTURES / "lint"
REFUSED = {
    "compensation.bpmn": [
        "compensation.bpmn:7: charge_undone: compensation boundary event: govflow does not run compensation; undo "
        "the work on an explicit path instead (e.g. an error boundary event leading to the undoing task)",
        "compensation.bpmn:8: refund: script task is a compensation handler: govflow does not run compensation; "
        "connect it with sequence flows on an explicit undo path and remove isForCompensation",
        "compensation.bpmn:11: undo: compensation intermediate throw event: govflow does not run compensation; "
        "undo the work on an explicit path instead (e.g. an error boundary event leading to the undoing task)",
    ],
    "ad_hoc.bpmn": [
        "ad_hoc.bpmn:6: checks: ad-hoc sub-process: govflow cannot run one yet (nobody is offered the choice of its "
        "activities); model the activities with a parallel or an inclusive gateway",
    ],
    "receive_instantiate.bpmn": [
        'receive_instantiate.bpmn:4: application_in: receive task with instantiate="true": govflow cannot start a '
        "case from a message yet; start the process with a start event followed by this receive task",
    ],
    "service_task.bpmn": [
        "service_task.bpmn:6: check_credit: service task: govflow does not run service tasks yet (there are no "
        "external task workers); model the work as a user task, or as a script task if it is a computation",
    ],
    "loop_maximum_negative.bpmn": [
        'loop_maximum_negative.bpmn:6: count: loopMaximum="-1" is negative: it is the most times the loop runs; '
        "write 0 or more, or remove it for no limit",
    ],
    "cardinality_negative.bpmn": [
        "cardinality_negative.bpmn:6: sign: loopCardinality -2 is negative: it is how many instances run; write 0 "
        "or more",
    ],
    "start_quantity_zero.bpmn": [
        'start_quantity_zero.bpmn:6: accept: startQuantity="0" is not valid BPMN: it counts the tokens that start '
        "it and must be at least 1; remove the attribute (the default is 1)",
    ],
    "completion_quantity_zero.bpmn": [
        'completion_quantity_zero.bpmn:6: accept: completionQuantity="0" is not valid BPMN: it counts the tokens it '
        "sends on when it completes and must be at least 1; remove the attribute (the default is 1)",
    ],
    "missing_called_process.bpmn": [
        "missing_called_process.bpmn:6: consult: call activity calls process 'opinion_procedure', which is not in "
        "this file; govflow finds a called process in the same file: add process 'opinion_procedure' to it or "
        "correct calledElement",
    ],
    "duplicate_id.bpmn": [
        "duplicate_id.bpmn:9: accept: id 'accept' is already used by the user task at line 6: an id must be unique "
        "in the file; rename one of the two elements",
    ],
    "cron_cycle.bpmn": [
        "cron_cycle.bpmn:7: daily_reminder: timer timeCycle '0 0 9 * * ?' is a cron expression, which govflow does "
        "not read; write an ISO 8601 repeating interval, e.g. 'R/2026-01-05T09:00:00+08:00/P1D' for every day at "
        "9:00",
    ],
}


def _lint_fixture(name: str):
    return lint_source((LINT_FIXTURES / name).read_bytes(), name, FIXTURES / "forms")


@pytest.mark.parametrize("name", sorted(REFUSED), ids=lambda n: n.removesuffix(".bpmn"))
def test_refusal_names_construct_element_and_remedy(name):
    assert _messages(_lint_fixture(name)) == REFUSED[name]


def test_every_lint_fixture_has_its_expectation():
    assert sorted(p.name for p in LINT_FIXTURES.glob("*.bpmn")) == sorted([*REFUSED, "link_events.bpmn"])


@pytest.mark.parametrize("name", ["compensation.bpmn", "ad_hoc.bpmn", "receive_instantiate.bpmn"])
def test_valid_constructs_without_flows_are_not_called_unreachable(name):
    """Compensation handlers are reached by association, ad-hoc activities by choice, an instantiating receive
    task by its message: valid BPMN, refused (when at all) for what govflow lacks, not as a dead end."""
    for message in _messages(_lint_fixture(name)):
        assert "can never be reached" not in message and "would stop here" not in message
        assert "no start event" not in message and "not an element of this process" not in message


def test_link_events_lint_clean_and_deploy(engine):
    assert _lint_fixture("link_events.bpmn") == []
    [deployed] = engine.repository.deploy_file(LINT_FIXTURES / "link_events.bpmn")
    case = engine.runtime.start(deployed.key, {})
    view = engine.runtime.describe(case.id)
    assert (view["status"], view["data"]) == ("completed", {"steps": ["first", "second"]})


def test_a_link_without_its_pair_is_refused():
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="jump"/>
    <bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="there"/></bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="elsewhere"><bpmn:linkEventDefinition name="nowhere"/></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="elsewhere" targetRef="e"/>
    <bpmn:endEvent id="e"/>""")
    assert _messages(findings) == [
        "x.bpmn:7: jump: link throw event jumps to link 'there', but no link catch event of that name is in this "
        "process; add one or correct the name",
        "x.bpmn:8: elsewhere: no link throw event jumps to link 'nowhere': it can never be reached",
    ]


def test_quantities_above_one_are_refused_as_not_run():
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:task id="t" startQuantity="2"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <bpmn:endEvent id="e"/>""")
    assert _messages(findings) == [
        'x.bpmn:7: t: startQuantity="2": govflow runs an activity on one token; remove the attribute'
    ]


def test_a_timer_that_is_no_iso_time_says_what_to_write():
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="w"/>
    <bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>5 days</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="w" targetRef="e"/>
    <bpmn:endEvent id="e"/>""")
    [finding] = findings
    assert finding.element_id == "w"
    assert finding.message.startswith(
        "timer timeDuration '5 days' is neither an ISO 8601 duration such as 'PT5S' or 'P3D' nor a Python "
        "expression giving one (syntax error"
    )


def test_an_engine_refusal_names_the_element_never_the_exception():
    """A boundary event with no event definition passes the structure checks; SpiffWorkflow's parser raises
    NotImplementedError('Unsupported Catch Event: ...') for it."""
    findings = _lint("""    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>
    <bpmn:userTask id="u" camunda:candidateGroups="clerk"/>
    <bpmn:boundaryEvent id="b" attachedToRef="u"/>
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
    <bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>
    <bpmn:endEvent id="e"/>""")
    assert _messages(findings) == [
        "x.bpmn:8: b: boundary event: govflow cannot run this kind of element in a Camunda Modeler file; model it "
        "with another kind of element"
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("duplicate_id.bpmn", "duplicate_id.bpmn:9: accept: id 'accept' is not a valid BPMN id: it must start with a "
         "letter or '_' and hold no spaces, and no other element may have it; rename the element"),
        ("missing_called_process.bpmn", "missing_called_process.bpmn:6: consult: call activity calls process "
         "'opinion_procedure', which is not in this file; add process 'opinion_procedure' to the file or correct "
         "calledElement"),
    ],
)  # fmt: skip
def test_the_engine_parse_names_the_element(name, expected):
    """Deploy parses again after lint: the engine's own validation texts (XSD's "'x' is not a valid value of
    the atomic type 'xs:ID'", "The process 'x' was not found") are said at the element they are about."""
    with pytest.raises(BpmnSourceError) as info:
        workflow_parsing.parse((LINT_FIXTURES / name).read_bytes(), name)
    assert info.value.format() == expected


def test_deploy_refuses_a_service_task_without_a_traceback(engine):
    with pytest.raises(LintFailed) as info:
        engine.repository.deploy_file(LINT_FIXTURES / "service_task.bpmn")
    assert [f.element_id for f in info.value.findings] == ["check_credit"]
    assert engine.repository.list() == []


def test_an_unstorable_construct_is_refused_at_lint_not_at_deploy(engine, tmp_path):
    """A multi-instance script task in a Camunda Modeler file: the engine parses it, but the case state could not
    be saved ("Object of type SequentialMultiInstanceTask is not JSON serializable" at deploy, before)."""
    path = tmp_path / "mi_script.bpmn"
    path.write_text((LINT_FIXTURES / "cardinality_negative.bpmn").read_text().replace("-2", "3"))
    findings = lint_file(path)
    assert _messages(findings) == [
        f"{path}:6: sign: multi-instance script task: govflow cannot run this kind of element in a Camunda Modeler "
        "file; model it with another kind of element"
    ]
    with pytest.raises(LintFailed):
        engine.repository.deploy_file(path)


# -- two files, one process id
def _same_id_elsewhere(tmp_path, name: str) -> Path:
    other = tmp_path / name
    other.write_text((FIXTURES / "approval_shape.bpmn").read_text().replace("审批（测试形态）", "另一个流程"))
    return other


def test_a_process_id_taken_by_another_file_is_refused(engine, tmp_path):
    [first] = engine.repository.deploy_file(FIXTURES / "approval_shape.bpmn")
    other = _same_id_elsewhere(tmp_path, "other_approval.bpmn")
    with pytest.raises(ProcessIdTaken) as info:
        engine.repository.deploy_file(other)
    [finding] = info.value.findings
    assert finding.format() == (
        f"{other}:{finding.line}: {first.key}: process id '{first.key}' is already deployed from approval_shape.bpmn "
        f"(v1); if this file is its next version, deploy with --new-version-of {first.key}, else give the process "
        "another id"
    )
    assert finding.line > 0
    assert [(p.key, p.version, p.filename) for p in engine.repository.list()] == [
        (first.key, 1, "approval_shape.bpmn")
    ]


def test_new_version_of_confirms_the_other_file_is_the_next_version(engine, tmp_path):
    [first] = engine.repository.deploy_file(FIXTURES / "approval_shape.bpmn")
    other = _same_id_elsewhere(tmp_path, "other_approval.bpmn")
    [second] = engine.repository.deploy_file(other, new_version_of=[first.key])
    assert (second.key, second.version) == (first.key, 2)
    edited = other.read_text().replace("另一个流程", "另一个流程 v3")
    other.write_text(edited)
    [third] = engine.repository.deploy_file(other)  # the file now is the process's file: no flag needed
    assert third.version == 3
    with pytest.raises(ProcessIdTaken, match="--new-version-of nope: this file has no executable process"):
        engine.repository.deploy_file(other, new_version_of=["nope"])


def test_the_same_file_name_elsewhere_is_the_next_version(engine, tmp_path):
    engine.repository.deploy_file(FIXTURES / "approval_shape.bpmn")
    moved = _same_id_elsewhere(tmp_path, "approval_shape.bpmn")
    assert [d.version for d in engine.repository.deploy_file(moved)] == [2]


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
