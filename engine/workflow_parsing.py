"""Parsing BPMN files into SpiffWorkflow process specs: the home of reading a diagram (Camunda, SpiffArena and
plain dialects) into the bundles a process version is deployed with, and of refusing what the engine cannot run.

Beside engine.workflow (running a case) and engine.workflow_persistence (storing specs and states), one of the
three modules that import SpiffWorkflow's parsers and workflows.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR as SPIFF_VALIDATOR
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine import diagram
from engine.diagram import BpmnSourceError
from engine.workflow_flows import with_activity_flows
from engine.workflow_persistence import ProcessBundle, settle_spec

_VALIDATOR = BpmnValidator()
_PARSERS = {
    "camunda": with_activity_flows(CamundaParser),
    "spiff": with_activity_flows(SpiffBpmnParser),
    "bpmn": with_activity_flows(BpmnParser),
}
_VALIDATORS = {"camunda": _VALIDATOR, "spiff": SPIFF_VALIDATOR, "bpmn": _VALIDATOR}


@dataclass
class ParsedFile:
    root: etree._Element
    dialect: str
    processes: list[ProcessBundle]


def parse(source: bytes, filename: str) -> ParsedFile:
    """Parse and validate (XSD + semantics) one BPMN file; BpmnSourceError names file, line and element."""
    root = diagram.read_xml(source, filename)
    dialect = diagram.dialect(root)
    diagram.normalise_timers(root)
    executable = diagram.executable_processes(root)
    if not executable:
        raise BpmnSourceError(filename, root.sourceline, root.get("id"), "no executable process (isExecutable)")
    parser = _PARSERS[dialect](validator=_VALIDATORS[dialect])
    try:
        parser.add_bpmn_xml(root, filename)
        bundles = []
        for process in executable:
            key = process.get("id")
            spec = parser.get_spec(key)
            subprocesses = parser.get_subprocess_specs(key)
            facts = diagram.element_facts(process)
            bundles.append(settle_spec(ProcessBundle(key, process.get("name"), dialect, spec, subprocesses, facts)))
    except ValidationException as exc:
        line = exc.line_number or diagram.line_of(root, exc.id) or None
        raise BpmnSourceError(filename, line, exc.id or None, str(exc).split("\n")[0]) from None
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        # The engine's parsers raise bare errors for constructs they do not support (e.g. a
        # decisionRef without its DMN); report them as a refusal, never a crash.
        element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
        raise BpmnSourceError(
            filename, diagram.line_of(root, element), element, f"not supported by the engine: {describe(exc)}"
        ) from None
    return ParsedFile(root, dialect, bundles)


def describe(exc: Exception) -> str:
    """One line naming an error the engine raised, for a refusal or a script failure."""
    text = str(exc).split("\n")[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
