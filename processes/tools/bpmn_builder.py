"""A small builder for govflow's procedure diagrams: BPMN 2.0 semantics (Camunda dialect) plus full diagram
interchange (pool, lanes, shapes, edges with waypoints), laid out left to right on a grid.

Drawing DI by hand is error-prone, so the procedures in processes/*.bpmn are written with this builder (see
build_procedures.py) and the output committed; the .bpmn files remain ordinary, hand-editable BPMN that opens in
bpmn.io and Camunda Modeler. Layout: a node's column is its longest distance from the start (back edges of
loops ignored); lanes are horizontal bands, each as tall as its busiest column; an expanded sub-process is
drawn with its inner nodes in a row; boundary events sit on the bottom edge of their host.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "camunda": CAMUNDA}

SIZES = {"task": (110, 80), "event": (36, 36), "gateway": (50, 50)}
COL_GAP, ROW_H, LANE_LABEL, POOL_LABEL, PAD = 60, 110, 30, 30, 20
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


@dataclass
class Node:
    id: str
    tag: str
    name: str | None
    lane: str | None
    attrs: dict = field(default_factory=dict)
    doc: str | None = None
    props: dict = field(default_factory=dict)
    body: list = field(default_factory=list)  # callables building child XML elements
    attached_to: str | None = None
    inner: Container | None = None  # an expanded sub-process
    # layout
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0

    @property
    def kind(self) -> str:
        if self.tag in _EVENTS:
            return "event"
        if self.tag in _GATEWAYS:
            return "gateway"
        return "task"


@dataclass
class Flow:
    id: str
    source: str
    target: str
    condition: str | None = None
    name: str | None = None


class Container:
    """A process or an expanded sub-process: nodes and sequence flows."""

    def __init__(self, prefix: str = ""):
        self.nodes: dict[str, Node] = {}
        self.flows: list[Flow] = []
        self.prefix = prefix
        self.defaults: dict[str, str] = {}

    def add(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise ValueError(f"duplicate id {node.id}")
        self.nodes[node.id] = node
        return node

    def flow(self, source: str, target: str, condition: str | None = None, name: str | None = None,
             default: bool = False) -> Flow:  # fmt: skip
        f = Flow(f"f_{source}__{target}", source, target, condition, name)
        if any(x.id == f.id for x in self.flows):
            f.id += f"_{len(self.flows)}"
        self.flows.append(f)
        if default:
            self.defaults[source] = f.id
        return f

    # -- element helpers
    def event(self, tag: str, id: str, name: str | None, lane: str | None = None, doc: str | None = None,
              **kw) -> Node:  # fmt: skip
        return self.add(Node(id, tag, name, lane, doc=doc, **kw))

    def start(self, id, name, lane=None, doc=None):
        return self.event("startEvent", id, name, lane, doc)

    def end(self, id, name, lane=None, doc=None, terminate=False):
        body = [lambda el: etree.SubElement(el, _q(BPMN, "terminateEventDefinition"))] if terminate else []
        return self.add(Node(id, "endEvent", name, lane, doc=doc, body=body))

    def user(self, id, name, lane, group, form=None, doc=None, props=None, multi=None):
        attrs = {"camunda:candidateGroups": group}
        if form:
            attrs["camunda:formKey"] = form
        body = [_multi(*multi)] if multi else []
        return self.add(Node(id, "userTask", name, lane, attrs, doc, props or {}, body))

    def script(self, id, name, lane, script, doc=None):
        def build(el, text=script):
            etree.SubElement(el, _q(BPMN, "script")).text = text

        return self.add(Node(id, "scriptTask", name, lane, {"scriptFormat": "python"}, doc, body=[build]))

    def gateway(self, id, name, lane, kind="exclusiveGateway", doc=None):
        if name is None:  # every element carries a Chinese label, merges and parallel gateways too
            name = ("并行开始" if "split" in id else "并行汇合") if kind == "parallelGateway" else "汇合"
        return self.add(Node(id, kind, name, lane, doc=doc))

    def timer(self, id, name, lane, expression, doc=None, kind="timeDate"):
        return self.add(Node(id, "intermediateCatchEvent", name, lane, doc=doc, body=[_timer(expression, kind)]))

    def catch_message(self, id, name, lane, message_id, doc=None):
        return self.add(Node(id, "intermediateCatchEvent", name, lane, doc=doc, body=[_message(message_id)]))

    def catch_signal(self, id, name, lane, signal_id, doc=None):
        return self.add(Node(id, "intermediateCatchEvent", name, lane, doc=doc, body=[_signal(signal_id)]))

    def throw_signal(self, id, name, lane, signal_id, doc=None):
        return self.add(Node(id, "intermediateThrowEvent", name, lane, doc=doc, body=[_signal(signal_id)]))

    def boundary_timer(self, id, name, host, expression, interrupting=False, doc=None, kind="timeDate"):
        lane = self.nodes[host].lane
        attrs = {"attachedToRef": host, "cancelActivity": "true" if interrupting else "false"}
        return self.add(Node(id, "boundaryEvent", name, lane, attrs, doc, body=[_timer(expression, kind)],
                             attached_to=host))  # fmt: skip

    def subprocess(self, id, name, lane, doc=None, props=None, multi=None) -> Node:
        node = self.add(Node(id, "subProcess", name, lane, {}, doc, props or {}, inner=Container(id)))
        if multi:
            node.body.append(_multi(*multi))
        return node


def _timer(expression: str, kind: str):
    def build(el):
        definition = etree.SubElement(el, _q(BPMN, "timerEventDefinition"))
        etree.SubElement(definition, _q(BPMN, kind), {_q("http://www.w3.org/2001/XMLSchema-instance", "type"):
                         "bpmn:tFormalExpression"}).text = expression  # fmt: skip

    return build


def _message(message_id: str):
    return lambda el: etree.SubElement(el, _q(BPMN, "messageEventDefinition"), messageRef=message_id)


def _signal(signal_id: str):
    return lambda el: etree.SubElement(el, _q(BPMN, "signalEventDefinition"), signalRef=signal_id)


def _multi(collection: str, element_variable: str):
    def build(el):
        etree.SubElement(
            el,
            _q(BPMN, "multiInstanceLoopCharacteristics"),
            {_q(CAMUNDA, "collection"): collection, _q(CAMUNDA, "elementVariable"): element_variable},
        )

    return build


class Process(Container):
    """One executable process in one pool, with lanes."""

    def __init__(self, id: str, name: str, doc: str, namespace: str):
        super().__init__()
        self.id, self.name, self.doc, self.namespace = id, name, doc, namespace
        self.lanes: list[tuple[str, str, str | None]] = []  # (id, name, documentation)
        self.messages: dict[str, str] = {}
        self.signals: dict[str, str] = {}

    def lane(self, id: str, name: str, doc: str | None = None) -> None:
        self.lanes.append((id, name, doc))

    def message(self, id: str, name: str) -> None:
        self.messages[id] = name

    def signal(self, id: str, name: str) -> None:
        self.signals[id] = name

    # -- output
    def to_xml(self) -> bytes:
        root = etree.Element(_q(BPMN, "definitions"), nsmap=NSMAP, id=f"defs_{self.id}",
                             targetNamespace=self.namespace, exporter="govflow bpmn_builder",
                             exporterVersion="1")  # fmt: skip
        collab = etree.SubElement(root, _q(BPMN, "collaboration"), id=f"collab_{self.id}")
        etree.SubElement(collab, _q(BPMN, "participant"), id=f"pool_{self.id}", name=self.name, processRef=self.id)
        for mid, name in self.messages.items():
            etree.SubElement(root, _q(BPMN, "message"), id=mid, name=name)
        for sid, name in self.signals.items():
            etree.SubElement(root, _q(BPMN, "signal"), id=sid, name=name)
        proc = etree.SubElement(root, _q(BPMN, "process"), id=self.id, name=self.name, isExecutable="true")
        _doc(proc, self.doc)
        lane_set = etree.SubElement(proc, _q(BPMN, "laneSet"), id=f"lanes_{self.id}")
        for lid, lname, ldoc in self.lanes:
            lane = etree.SubElement(lane_set, _q(BPMN, "lane"), id=f"lane_{lid}", name=lname)
            _doc(lane, ldoc)
            for node in self.nodes.values():
                if node.lane == lid:
                    etree.SubElement(lane, _q(BPMN, "flowNodeRef")).text = node.id
        _emit(proc, self)
        from processes.tools.bpmn_layout import diagram, layout

        layout(self)
        diagram(root, self)
        etree.indent(root, space="  ")
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _doc(el, text: str | None) -> None:
    if text:
        etree.SubElement(el, _q(BPMN, "documentation")).text = text


def _emit(parent, container: Container) -> None:
    for node in container.nodes.values():
        attrs = {"id": node.id}
        if node.name:
            attrs["name"] = node.name
        for key, value in node.attrs.items():
            prefix, _, local = key.rpartition(":")
            attrs[_q(CAMUNDA, local) if prefix == "camunda" else local] = value
        if node.id in container.defaults:
            attrs["default"] = container.defaults[node.id]
        if node.tag == "subProcess" and node.inner is not None:
            pass
        el = etree.SubElement(parent, _q(BPMN, node.tag), attrs)
        _doc(el, node.doc)
        if node.props:
            ext = etree.SubElement(el, _q(BPMN, "extensionElements"))
            props = etree.SubElement(ext, _q(CAMUNDA, "properties"))
            for name, value in node.props.items():
                etree.SubElement(props, _q(CAMUNDA, "property"), name=name, value=value)
        for build in node.body:
            build(el)
        if node.inner is not None:
            _emit(el, node.inner)
    for f in container.flows:
        attrs = {"id": f.id, "sourceRef": f.source, "targetRef": f.target}
        if f.name:
            attrs["name"] = f.name
        el = etree.SubElement(parent, _q(BPMN, "sequenceFlow"), attrs)
        if f.condition:
            cond = etree.SubElement(
                el,
                _q(BPMN, "conditionExpression"),
                {_q("http://www.w3.org/2001/XMLSchema-instance", "type"): "bpmn:tFormalExpression"},
            )
            cond.text = f.condition
