"""What a BPMN file says, read straight from its XML: dialect, executable processes, element facts, lines.

The engine's parser drops most vendor extensions; the facts the platform needs (lanes, candidate groups,
form keys, documentation, source lines) are read here once, at deploy, and stored with the process version.
"""

from __future__ import annotations

import codecs
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
    """Parse BPMN XML safely; what is refused (`read_source`) names the file and line."""
    return read_source(source, filename)[1]


def read_source(source: bytes, filename: str) -> tuple[str, etree._Element]:
    """The one reading of a BPMN file, for lint and deploy alike: its text (UTF-8, decoded here once) and its
    XML tree. Refused, naming file and line: another encoding, malformed XML, a DOCTYPE (any: it can define
    entities that read files, reach the network or expand without end, and a BPMN file needs none), XInclude and
    a root that is not BPMN's definitions."""
    text = _decode(source, filename)
    prolog = _PROLOG.match(text).end()
    if text[prolog : prolog + 9].upper() == "<!DOCTYPE":
        raise BpmnSourceError(filename, text.count("\n", 0, prolog) + 1, None, _NO_DOCTYPE)
    try:
        root = etree.fromstring(source, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BpmnSourceError(filename, exc.lineno, None, f"malformed XML: {exc.msg}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:  # never, after the scan
        raise BpmnSourceError(filename, 1, None, _NO_DOCTYPE)
    included = next(root.iter(f"{{{XINCLUDE_NS}}}*"), None)
    if included is not None:
        raise BpmnSourceError(filename, included.sourceline, None,
                              "XInclude is not allowed: a BPMN file must hold the whole diagram itself")  # fmt: skip
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise BpmnSourceError(
            filename, root.sourceline, root.get("id"), f"not a BPMN 2.0 file: root element is <{local(root.tag)}>"
        )
    return text, root


XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          remove_comments=False, huge_tree=False)  # fmt: skip
# What may come before the root element besides a DOCTYPE: the XML declaration, other processing instructions,
# comments and white space (and a byte order mark).
_PROLOG = re.compile(r"\ufeff?(?:\s|<\?.*?\?>|<!--.*?-->)*", re.S)
_NO_DOCTYPE = ("DOCTYPE is not allowed: a BPMN file needs no document type declaration, and one can define entities "
               "that read files or expand without end; remove the <!DOCTYPE ...> part")  # fmt: skip
_DECLARED_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
_UTF = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32", codecs.BOM_UTF16_LE: "UTF-16",
        codecs.BOM_UTF16_BE: "UTF-16", b"<\0": "UTF-16", b"\0<": "UTF-16"}  # fmt: skip


def _decode(source: bytes, filename: str) -> str:
    """The text of a BPMN file, which must be UTF-8 (with or without a byte order mark), as modelers save it."""
    found = next((name for start, name in _UTF.items() if source.startswith(start)), None)
    declared = _DECLARED_ENCODING.match(source)
    if found is None and declared and declared.group(1).decode("ascii", "replace").lower() not in ("utf-8", "utf8"):
        found = declared.group(1).decode("ascii", "replace")
    if found is None:
        try:
            return source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = source.count(b"\n", 0, exc.start) + 1
            raise BpmnSourceError(filename, line, None, f"the file is not UTF-8 text (byte {exc.start} cannot be "
                                  f"read); save it as UTF-8, as the modelers do") from None  # fmt: skip
    raise BpmnSourceError(filename, 1, None, f"the file is encoded as {found}: govflow reads BPMN files as UTF-8; "
                          f"save it as UTF-8, as the modelers do")  # fmt: skip


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
