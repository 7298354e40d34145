"""Parsing BPMN files into SpiffWorkflow process specs: the home of reading a diagram (Camunda, SpiffArena and
plain dialects) into the bundles a process version is deployed with, and of refusing what the engine cannot run.

Beside engine.workflow (running a case) and engine.workflow_persistence (storing specs and states), one of the
three modules that import SpiffWorkflow's parsers and workflows.
"""

from __future__ import annotations

import copy
import logging
import re
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
from engine.workflow_persistence import ProcessBundle, settle_spec, unstorable_specs

log = logging.getLogger(__name__)

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
    text: str  # the file's text, as a process version stores it


def parse(source: bytes, filename: str) -> ParsedFile:
    """Parse and validate (XSD + semantics) one BPMN file; BpmnSourceError names file, line and element."""
    text, root = diagram.read_source(source, filename)
    dialect = diagram.dialect(root)
    diagram.normalise_timers(root)
    executable = diagram.executable_processes(root)
    if not executable:
        raise BpmnSourceError(
            filename, root.sourceline, root.get("id"), 'no executable process: set isExecutable="true"'
        )
    parser = _PARSERS[dialect](validator=_VALIDATORS[dialect])
    try:
        parser.add_bpmn_xml(_join_links(root), filename)
        bundles = []
        for process in executable:
            key = process.get("id")
            spec = parser.get_spec(key)
            subprocesses = parser.get_subprocess_specs(key)
            facts = diagram.element_facts(process)
            bundles.append(settle_spec(ProcessBundle(key, process.get("name"), dialect, spec, subprocesses, facts)))
    except ValidationException as exc:
        raise _refusal(root, filename, exc) from None
    except (SpiffWorkflowException, NotImplementedError, KeyError, ValueError, TypeError, AttributeError,
            IndexError) as exc:  # fmt: skip
        # The engine's parsers raise bare errors for constructs they do not support (e.g. a decisionRef without
        # its DMN, a boundary event of a kind it lacks); report them as a refusal naming the element, never a crash.
        element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or _element_named_in(root, exc)
        raise _unsupported(root, filename, element, exc) from None
    for bundle in bundles:
        for bpmn_id in unstorable_specs(bundle):
            raise _unsupported(root, filename, bpmn_id, None)
    return ParsedFile(root, dialect, bundles, text)


def _join_links(root: etree._Element) -> etree._Element:
    """The tree the engine parses: each link throw event joined to its link catch event by a sequence flow
    (a link is a jump within one process level, a sequence flow drawn in two pieces), both then plain events
    that pass on at once. The engine has no link events; lint has checked that every name has its one catch."""
    tree = copy.deepcopy(root)
    for container in tree.iter(_q("process"), _q("subProcess"), _q("transaction")):
        catches = {}
        for catch in container.iterchildren(_q("intermediateCatchEvent")):
            link = catch.find(_q("linkEventDefinition"))
            if link is not None:
                catches[link.get("name") or link.get("id") or ""] = catch
                catch.remove(link)
                catch.tag = _q("intermediateThrowEvent")  # a catch with no event would wait for ever
        for throw in list(container.iterchildren(_q("intermediateThrowEvent"))):
            link = throw.find(_q("linkEventDefinition"))
            if link is None:
                continue
            throw.remove(link)
            target = catches.get(link.get("name") or link.get("id") or "")
            if target is not None:
                flow = etree.Element(_q("sequenceFlow"), id=f"{throw.get('id')}__link", sourceRef=throw.get("id"),
                                     targetRef=target.get("id"))  # fmt: skip
                throw.addnext(flow)
    return tree


def _q(tag: str) -> str:
    return f"{{{diagram.BPMN_NS}}}{tag}"


_XSD_ELEMENT = re.compile(r"\{" + re.escape(diagram.BPMN_NS) + r"\}(\w+)")
_XSD_ID = re.compile(r"attribute 'id': '([^']*)' is not a valid value of the atomic type 'xs:ID'")
_XSD_IDREF = re.compile(r"attribute '(\w+)': '([^']*)' is not a valid value of the atomic type 'xs:IDREF'")
_MISSING_PROCESS = re.compile(r"The process '([^']*)' was not found")


def _refusal(root: etree._Element, filename: str, exc: ValidationException) -> BpmnSourceError:
    """The engine's validation error said in the designer's terms, at the element it is about."""
    cause = exc.__context__
    if cause is not None and not isinstance(cause, SpiffWorkflowException) and repr(cause) in str(exc):
        return _unsupported(root, filename, exc.id or None, cause)  # the engine's parser wrapped a bare error
    text = str(exc).split("\n")[0].strip().rstrip(". ")
    element, line = exc.id or None, exc.line_number or None
    if (match := _MISSING_PROCESS.search(text)) is not None:
        called = match.group(1)
        caller = next((el for el in root.iter(_q("callActivity")) if el.get("calledElement") == called), None)
        element = caller.get("id") if caller is not None else element
        text = (f"call activity calls process '{called}', which is not in this file; add process '{called}' to "
                f"the file or correct calledElement")  # fmt: skip
    elif text.startswith("Multiple outgoing flows are not supported"):
        el = next((e for e in root.iter() if isinstance(e.tag, str) and element and e.get("id") == element), None)
        what = diagram.construct(el) if el is not None else "element"
        text = (f"{what} with several outgoing sequence flows: govflow cannot split the path here; lead the "
                f"flow into a gateway after the {what} and split there")  # fmt: skip
    elif (match := _XSD_ID.search(text)) is not None:
        text = (f"id '{match.group(1)}' is not a valid BPMN id: it must start with a letter or '_' and hold no "
                f"spaces, and no other element may have it; rename the element")  # fmt: skip
    elif (match := _XSD_IDREF.search(text)) is not None:
        text = (f"{match.group(1)} '{match.group(2)}' is not a valid id reference: ids start with a letter or "
                f"'_' and hold no spaces; correct the id and the references to it")  # fmt: skip
    elif line is not None and not element:
        text = "not valid BPMN 2.0: " + _XSD_ELEMENT.sub(r"bpmn:\1", text) + "; correct the XML at this line"
    if line is not None and not element:
        element = _element_at(root, line)
    line = line or diagram.line_of(root, element)
    if not element:
        process = diagram.executable_processes(root)[0]
        element, line = process.get("id"), line or process.sourceline
    return BpmnSourceError(filename, line, element, text)


def _unsupported(root: etree._Element, filename: str, element: str | None, exc: Exception | None):
    """A refusal of something the engine cannot run, naming the construct; the engine's own text is logged."""
    if exc is not None:
        log.info("%s: %s refused by the engine: %s", filename, element or "-", describe(exc))
    el = next((e for e in root.iter() if isinstance(e.tag, str) and element and e.get("id") == element), None)
    if el is None:
        process = diagram.executable_processes(root)[0]
        return BpmnSourceError(
            filename, process.sourceline, process.get("id"),
            "the process uses a construct govflow cannot run; remove the elements added last to find it",
        )  # fmt: skip
    return BpmnSourceError(
        filename, el.sourceline, element,
        f"{diagram.construct(el)}: govflow cannot run this kind of element in a "
        f"{_DIALECT_NAMES[diagram.dialect(root)]} file; model it with another kind of element",
    )  # fmt: skip


_DIALECT_NAMES = {"camunda": "Camunda Modeler", "spiff": "SpiffArena", "bpmn": "BPMN"}


def _element_named_in(root: etree._Element, exc: Exception) -> str | None:
    """The id of an element whose id the engine's error text quotes, if any."""
    text = str(exc)
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    quoted = re.findall(r"""['"]([^'"]+)['"]""", text)
    return next((q for q in quoted if q in ids), None)


def _element_at(root: etree._Element, line: int) -> str | None:
    """The id of the element written at this line, or of the nearest enclosing element with an id."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.sourceline == line:
            while el is not None and not el.get("id"):
                el = el.getparent()
            return el.get("id") if el is not None else None
    return None


def describe(exc: Exception) -> str:
    """One line naming an error the engine raised, for a refusal or a script failure."""
    text = str(exc).split("\n")[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
