"""What a BPMN file says, read straight from its XML: dialect, executable processes, element facts, lines.

The engine's parser drops most vendor extensions; the facts the platform needs (lanes, candidate groups,
form keys, documentation, source lines) are read here once, at deploy, and stored with the process version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "spiffworkflow": SPIFF_NS}

# Element ids the engine uses for its own internal tasks; a diagram element with one of them breaks a case.
RESERVED_IDS = frozenset({"Start", "End", "Root"})

FLOW_NODE_TAGS = frozenset(
    {
        "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
        "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
        "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
        "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
    }
)  # fmt: skip
CONTAINER_TAGS = frozenset({"subProcess", "transaction", "adHocSubProcess"})

_ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)(/.*)?$"
)


class BpmnSourceError(Exception):
    """A BPMN file that cannot be read or used; says which file, line and element, and why."""

    def __init__(self, filename: str, line: int | None, element_id: str | None, message: str):
        self.filename = filename
        self.line = line
        self.element_id = element_id
        self.message = message
        super().__init__(self.format())

    @property
    def finding(self) -> Finding:
        return Finding(self.filename, self.line or 0, self.element_id or "-", self.message)

    def format(self) -> str:
        return self.finding.format()


@dataclass(frozen=True)
class Finding:
    """One thing a designer must know about a BPMN file (a lint finding, a deploy refusal or warning), printed
    as FILE:LINE: ELEMENT_ID: message. The message says what is wrong and what to do; every lint and deploy
    message is formatted here."""

    filename: str
    line: int
    element_id: str
    message: str

    def format(self) -> str:
        return f"{self.filename}:{self.line}: {self.element_id}: {self.message}"


def local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def read_xml(source: bytes, filename: str) -> etree._Element:
    """Parse BPMN XML safely (no entities, no network); malformed XML names the file and line."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False, huge_tree=False)
    try:
        root = etree.fromstring(source, parser)
    except etree.XMLSyntaxError as exc:
        raise BpmnSourceError(filename, exc.lineno, None, f"malformed XML: {exc.msg}") from None
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise BpmnSourceError(
            filename, root.sourceline, root.get("id"), f"not a BPMN 2.0 file: root element is <{local(root.tag)}>"
        )
    return root


def dialect(root: etree._Element) -> str:
    """'camunda' or 'spiff' when the file uses that modeler's extensions, else 'bpmn'."""
    namespaces = set(root.nsmap.values())
    for el in root.iter():
        if isinstance(el.tag, str):
            namespaces.update(el.nsmap.values())
            if el.attrib:
                namespaces.update(etree.QName(a).namespace for a in el.attrib if "}" in a)
    if SPIFF_NS in namespaces:
        return "spiff"
    if CAMUNDA_NS in namespaces:
        return "camunda"
    return "bpmn"


def normalise_timers(root: etree._Element) -> None:
    """Quote bare ISO-8601 timer literals (PT5S, R3/PT1H, 2026-01-01T00:00:00+08:00), which modelers write
    unquoted but the engine evaluates as Python expressions."""
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (el.text or "").strip()
            if text and _ISO_LITERAL.match(text):
                el.text = repr(text)


def executable_processes(root: etree._Element) -> list[etree._Element]:
    return [p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable", "false").lower() == "true"]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _documentation(el: etree._Element) -> str | None:
    docs = [d.text.strip() for d in el.findall(f"{{{BPMN_NS}}}documentation") if d.text and d.text.strip()]
    return "\n".join(docs) or None


def _spiff_property(el: etree._Element, name: str) -> str | None:
    for prop in el.iterfind(".//spiffworkflow:property", NS):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def _properties(el: etree._Element) -> dict[str, str]:
    """The element's own name/value properties (camunda:properties, spiffworkflow:properties), e.g. the time
    limit properties `stage`, `statutory_limit`, `clock_stop`; nested elements' properties are not included."""
    props: dict[str, str] = {}
    for ext in el.findall(f"{{{BPMN_NS}}}extensionElements"):
        for holder in ext:
            if local(holder.tag) != "properties":
                continue
            for prop in holder:
                if local(prop.tag) == "property" and prop.get("name"):
                    props[prop.get("name")] = prop.get("value") or ""
    return props


def _lanes(process: etree._Element) -> dict[str, dict]:
    lanes = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        info = {"id": lane.get("id"), "name": lane.get("name") or lane.get("id")}
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text:
                lanes[ref.text.strip()] = info
    return lanes


def element_facts(process: etree._Element) -> dict[str, dict]:
    """Facts about every flow node of a process (nested subprocesses included), keyed by BPMN id."""
    lanes = _lanes(process)
    facts: dict[str, dict] = {}
    for el in process.iter():
        tag = local(el.tag)
        if tag not in FLOW_NODE_TAGS or not el.get("id"):
            continue
        bpmn_id = el.get("id")
        lane = lanes.get(bpmn_id)
        form_key = el.get(f"{{{CAMUNDA_NS}}}formKey") or _spiff_property(el, "formJsonSchemaFilename")
        groups = _split(el.get(f"{{{CAMUNDA_NS}}}candidateGroups") or _spiff_property(el, "candidateGroups"))
        if tag == "userTask" and not groups and lane:
            # A user task with no candidate groups belongs to its lane: the lane id is the group.
            groups = [lane["id"]]
        facts[bpmn_id] = {
            "tag": tag,
            "name": el.get("name"),
            "line": el.sourceline,
            "lane": lane["name"] if lane else None,
            "lane_id": lane["id"] if lane else None,
            "candidate_groups": groups,
            "candidate_users": _split(el.get(f"{{{CAMUNDA_NS}}}candidateUsers")),
            "assignee": el.get(f"{{{CAMUNDA_NS}}}assignee"),
            "due_date": el.get(f"{{{CAMUNDA_NS}}}dueDate"),
            "form_key": form_key,
            "documentation": _documentation(el),
            "properties": _properties(el),
            "within": _container(el),
        }
    return facts


def _container(el: etree._Element) -> str | None:
    """The id of the sub-process (or transaction) a flow node lies directly in; None at the process's top."""
    parent = el.getparent()
    return parent.get("id") if parent is not None and local(parent.tag) in CONTAINER_TAGS else None


def construct(el: etree._Element) -> str:
    """What a designer calls the element: 'user task', 'multi-instance script task', 'timer boundary event'."""
    tag = local(el.tag)
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", tag).lower().replace("ad hoc", "ad-hoc")
    kinds = [local(c.tag)[: -len("EventDefinition")] for c in el if local(c.tag).endswith("EventDefinition")]
    if kinds:
        kinds = ["compensation" if k == "compensate" else k for k in kinds]
        words = f"{re.sub(r'(?<!^)(?=[A-Z])', ' ', kinds[0]).lower()} {words}"
    if el.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics") is not None:
        words = f"multi-instance {words}"
    elif el.find(f"{{{BPMN_NS}}}standardLoopCharacteristics") is not None:
        words = f"loop {words}"
    if tag == "subProcess" and el.get("triggeredByEvent") == "true":
        words = "event sub-process"
    return words.replace("sub process", "sub-process")


def line_of(root: etree._Element, element_id: str | None) -> int | None:
    """The source line of the element with this id, if there is one."""
    if not element_id:
        return None
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") == element_id:
            return el.sourceline
    return None
