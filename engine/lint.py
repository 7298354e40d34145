"""`govflow lint`: everything wrong with a BPMN file that can be known before a case runs.

Findings come as FILE:LINE: ELEMENT_ID: message. Structural checks read the XML; the engine's own parse adds
XSD and semantic validation; every script, condition and timer expression is compiled in the sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from engine import diagram, lint_snippets, workflow_parsing
from engine.diagram import BPMN_NS, BpmnSourceError, Finding, local

_OMG = "http://www.omg.org/spec/"  # BPMN's model and diagram namespaces, whose ids are the file's ids
_NO_INCOMING = {"startEvent", "boundaryEvent"}
_ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}  # fmt: skip
_DECIDING_GATEWAYS = {"exclusiveGateway", "inclusiveGateway"}


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


class _Linter:
    def __init__(self, filename: str, root: etree._Element, forms_dir: Path | None):
        self.filename = filename
        self.root = root
        self.forms_dir = forms_dir
        self.findings: list[Finding] = []
        self._facts: dict[str, dict] = {}  # process id → diagram.element_facts, read once per process

    def add(self, el: etree._Element | None, element_id: str | None, message: str) -> None:
        line = el.sourceline if el is not None else 0
        self.findings.append(Finding(self.filename, line or 0, element_id or "-", message))

    def run(self) -> None:
        if not self.check_ids():
            return  # with two elements of one id, every other check would read the wrong one
        processes = diagram.executable_processes(self.root)
        if not processes:
            self.add(self.root, self.root.get("id"), 'no executable process: set isExecutable="true"')
        self.process_ids = {p.get("id") for p in self.root.iter(_q("process"))}
        for process in processes:
            self.check_process(process)

    def check_ids(self) -> bool:
        """Ids are unique in the file and none is one the engine keeps for itself; False on a duplicate."""
        seen: dict[str, etree._Element] = {}
        unique = True
        for el in self.root.iter():
            eid = el.get("id") if isinstance(el.tag, str) else None
            if not eid:
                continue
            if eid in diagram.RESERVED_IDS:
                self.add(el, eid, f"id '{eid}' is reserved by the engine; rename the element")
            if not (etree.QName(el).namespace or "").startswith(_OMG):
                continue  # a vendor extension's ids are its own affair: the schema checks only BPMN's
            if eid in seen:
                first = seen[eid]
                self.add(
                    el, eid,
                    f"id '{eid}' is already used by the {diagram.construct(first)} at line {first.sourceline}: "
                    f"an id must be unique in the file; rename one of the two elements",
                )  # fmt: skip
                unique = False
            else:
                seen[eid] = el
        return unique

    # -- structure
    def check_process(self, process: etree._Element) -> None:
        pid = process.get("id")
        for container in [process, *process.iter(_q("subProcess"), _q("transaction"))]:
            self.check_container(container, top=container is process)
        if not list(process.iterchildren(_q("startEvent"))) and not any(
            _instantiates(el) for el in process.iterchildren(_q("receiveTask"))
        ):
            self.add(process, pid, "process has no start event")
        if not list(process.iterchildren(_q("endEvent"))):
            self.add(process, pid, "process has no end event")
        for el in process.iter():
            tag = local(el.tag)
            if tag in diagram.FLOW_NODE_TAGS:
                self.check_construct(el)
            if tag in _ACTIVITIES:
                self.check_activity(el)
            if tag == "userTask":
                self.check_user_task(el)
            elif tag == "scriptTask":
                self.check_script(el)
            elif tag in ("timeDate", "timeDuration", "timeCycle"):
                self.check_expression(el.getparent().getparent(), el.text, f"timer {tag}")
            elif tag == "conditionExpression":
                self.check_expression(self._owner(el), el.text, "condition")
            elif tag in ("loopCardinality", "completionCondition"):
                self.check_expression(self._owner(el), el.text, tag)

    def _owner(self, el: etree._Element) -> etree._Element:
        while el.getparent() is not None and not el.get("id"):
            el = el.getparent()
        return el

    def check_container(self, container: etree._Element, top: bool) -> None:
        nodes = {el.get("id"): el for el in container if local(el.tag) in diagram.FLOW_NODE_TAGS and el.get("id")}
        incoming: dict[str, int] = dict.fromkeys(nodes, 0)
        outgoing: dict[str, list[etree._Element]] = {k: [] for k in nodes}
        for flow in container.iterchildren(_q("sequenceFlow")):
            fid = flow.get("id")
            for end in ("sourceRef", "targetRef"):
                ref = flow.get(end)
                if ref not in nodes:
                    self.add(flow, fid, f"sequence flow {end} '{ref}' is not an element of this process")
            if flow.get("targetRef") in incoming:
                incoming[flow.get("targetRef")] += 1
            if flow.get("sourceRef") in outgoing:
                outgoing[flow.get("sourceRef")].append(flow)
        for nid, el in nodes.items():
            tag = local(el.tag)
            if incoming[nid] == 0 and tag not in _NO_INCOMING and not _entered_without_flow(el):
                self.add(el, nid, f"{tag} has no incoming sequence flow: it can never be reached")
            if not outgoing[nid] and tag != "endEvent" and not _left_without_flow(el):
                self.add(el, nid, f"{tag} has no outgoing sequence flow: the case would stop here")
            if tag in _DECIDING_GATEWAYS and len(outgoing[nid]) > 1:
                default = el.get("default")
                for flow in outgoing[nid]:
                    if flow.get("id") != default and flow.find(_q("conditionExpression")) is None:
                        self.add(
                            flow, flow.get("id"),
                            f"leaves gateway '{nid}' without a condition and is not its default flow",
                        )  # fmt: skip
        self.check_links(container)

    def check_links(self, container: etree._Element) -> None:
        """A link throw event jumps to the one link catch event of its name in the same (sub-)process."""
        catches: dict[str, etree._Element] = {}
        for el in container.iterchildren(_q("intermediateCatchEvent")):
            name = _link_name(el)
            if name is None:
                continue
            if name in catches:
                self.add(
                    el, el.get("id"),
                    f"link catch event '{name}' is also the name of '{catches[name].get('id')}' (line "
                    f"{catches[name].sourceline}): a link name must lead to one place; rename one of them",
                )  # fmt: skip
            catches.setdefault(name, el)
        thrown = set()
        for el in container.iterchildren(_q("intermediateThrowEvent")):
            name = _link_name(el)
            if name is None:
                continue
            thrown.add(name)
            if name not in catches:
                self.add(
                    el, el.get("id"),
                    f"link throw event jumps to link '{name}', but no link catch event of that name is in this "
                    f"{'process' if local(container.tag) == 'process' else 'sub-process'}; add one or correct "
                    f"the name",
                )  # fmt: skip
        for name, el in catches.items():
            if name not in thrown:
                self.add(el, el.get("id"), f"no link throw event jumps to link '{name}': it can never be reached")

    # -- constructs govflow does not run, and values the standard forbids
    def check_construct(self, el: etree._Element) -> None:
        tag, eid = local(el.tag), el.get("id")
        if el.find(_q("compensateEventDefinition")) is not None:
            self.add(
                el, eid,
                f"{diagram.construct(el)}: govflow does not run compensation; undo the work on an explicit "
                f"path instead (e.g. an error boundary event leading to the undoing task)",
            )  # fmt: skip
        if el.get("isForCompensation") == "true":
            self.add(
                el, eid,
                f"{diagram.construct(el)} is a compensation handler: govflow does not run compensation; connect "
                f"it with sequence flows on an explicit undo path and remove isForCompensation",
            )  # fmt: skip
        if _instantiates(el):
            self.add(
                el,
                eid,
                'receive task with instantiate="true": govflow cannot start a case from a message yet; start '
                "the process with a start event followed by this receive task",
            )
        if tag == "adHocSubProcess":
            self.add(
                el, eid,
                "ad-hoc sub-process: govflow cannot run one yet (nobody is offered the choice of its activities); "
                "model the activities with a parallel or an inclusive gateway",
            )  # fmt: skip
        if tag == "serviceTask":
            self.add(
                el,
                eid,
                "service task: govflow does not run service tasks yet (there are no external task workers); "
                "model the work as a user task, or as a script task if it is a computation",
            )
        if tag == "callActivity":
            called = (el.get("calledElement") or "").strip()
            if not called:
                self.add(el, eid, "call activity has no calledElement: name the process it calls")
            elif called not in self.process_ids:
                self.add(
                    el, eid,
                    f"call activity calls process '{called}', which is not in this file; govflow finds a called "
                    f"process in the same file: add process '{called}' to it or correct calledElement",
                )  # fmt: skip

    def check_activity(self, el: etree._Element) -> None:
        eid = el.get("id")
        for attr in ("startQuantity", "completionQuantity"):
            value = el.get(attr)
            if value is None or value.strip() == "1":
                continue
            if _integer(value) is not None and _integer(value) < 1:
                tokens = "that start it" if attr == "startQuantity" else "it sends on when it completes"
                self.add(
                    el, eid,
                    f"{attr}=\"{value}\" is not valid BPMN: it counts the tokens {tokens} and must be at least 1; "
                    f"remove the attribute (the default is 1)",
                )  # fmt: skip
            else:
                self.add(el, eid, f'{attr}="{value}": govflow runs an activity on one token; remove the attribute')
        loop = el.find(_q("standardLoopCharacteristics"))
        if loop is not None and loop.get("loopMaximum") is not None:
            maximum = _integer(loop.get("loopMaximum"))
            if maximum is not None and maximum < 0:
                self.add(
                    el, eid,
                    f"loopMaximum=\"{loop.get('loopMaximum')}\" is negative: it is the most times the loop runs; "
                    f"write 0 or more, or remove it for no limit",
                )  # fmt: skip
        cardinality = el.find(f"{_q('multiInstanceLoopCharacteristics')}/{_q('loopCardinality')}")
        if cardinality is not None:
            count = _integer(cardinality.text)
            if count is not None and count < 0:
                self.add(
                    el,
                    eid,
                    f"loopCardinality {count} is negative: it is how many instances run; write 0 or more",
                )

    # -- tasks and expressions
    def check_user_task(self, el: etree._Element) -> None:
        process = self._process_of(el)
        if process.get("id") not in self._facts:
            self._facts[process.get("id")] = diagram.element_facts(process)
        facts = self._facts[process.get("id")].get(el.get("id"), {})
        if not facts.get("candidate_groups") and not facts.get("candidate_users") and not facts.get("assignee"):
            self.add(el, el.get("id"), "user task has no lane, candidate groups, candidate users or assignee")
        for attr in ("candidate_groups", "candidate_users"):
            for value in facts.get(attr) or []:
                self.check_placeholders(el, value)
        if facts.get("assignee"):
            self.check_placeholders(el, facts["assignee"])
        if facts.get("due_date"):
            self.check_expression(el, facts["due_date"], "dueDate")
        key = facts.get("form_key")
        if key and self.forms_dir is not None:
            self.check_form(el, key)

    def _process_of(self, el: etree._Element) -> etree._Element:
        while local(el.tag) != "process":
            el = el.getparent()
        return el

    def check_placeholders(self, el: etree._Element, value: str) -> None:
        for message in lint_snippets.placeholder_problems(value):
            self.add(el, el.get("id"), message)

    def check_form(self, el: etree._Element, key: str) -> None:
        path = form_path(self.forms_dir, key)
        if path is None:
            self.add(el, el.get("id"), f"form '{key}' not found in forms/ (looked for {key}.json)")
            return
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.add(el, el.get("id"), f"form '{key}' is not valid JSON: {exc}")
            return
        if not isinstance(schema, dict) or schema.get("type") != "object":
            self.add(el, el.get("id"), f'form \'{key}\' must be a JSON Schema with "type": "object"')

    def check_script(self, el: etree._Element) -> None:
        script = el.find(_q("script"))
        for message in lint_snippets.script_problems(script.text if script is not None else None):
            self.add(el, el.get("id"), message)

    def check_expression(self, owner: etree._Element, text: str | None, what: str) -> None:
        oid = owner.get("id") if owner is not None else None
        for message in lint_snippets.expression_problems(text, what):
            self.add(owner, oid, message)


def _link_name(el: etree._Element) -> str | None:
    link = el.find(_q("linkEventDefinition"))
    return None if link is None else (link.get("name") or link.get("id") or "")


def _instantiates(el: etree._Element) -> bool:
    return local(el.tag) == "receiveTask" and el.get("instantiate") == "true"


def _entered_without_flow(el: etree._Element) -> bool:
    """Reached by something other than a sequence flow: an event, a link, an association, a message."""
    return (
        (local(el.tag) == "subProcess" and el.get("triggeredByEvent") == "true")
        or (local(el.tag) == "intermediateCatchEvent" and _link_name(el) is not None)
        or el.get("isForCompensation") == "true"
        or _instantiates(el)
    )


def _left_without_flow(el: etree._Element) -> bool:
    """Done without a sequence flow out: an event sub-process, a link's jump, a compensation's handler."""
    return (
        (local(el.tag) == "subProcess" and el.get("triggeredByEvent") == "true")
        or (local(el.tag) == "intermediateThrowEvent" and _link_name(el) is not None)
        or el.get("isForCompensation") == "true"
        or (local(el.tag) == "boundaryEvent" and el.find(_q("compensateEventDefinition")) is not None)
    )


def _integer(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def form_path(forms_dir: Path, key: str) -> Path | None:
    """The JSON Schema file a form key names, or None. Keys are paths below forms/, with or without .json."""
    if ".." in Path(key).parts or Path(key).is_absolute():
        return None
    for candidate in (forms_dir / f"{key}.json", forms_dir / key):
        if candidate.is_file():
            return candidate
    return None


def lint_source(source: bytes, filename: str, forms_dir: Path | None = None) -> list[Finding]:
    """All findings for one BPMN file's bytes; an empty list means it may be deployed."""
    try:
        root = diagram.read_xml(source, filename)
    except BpmnSourceError as exc:
        return [exc.finding]
    linter = _Linter(filename, root, forms_dir)
    linter.run()
    if not linter.findings:
        try:
            workflow_parsing.parse(source, filename)
        except BpmnSourceError as exc:
            linter.findings.append(exc.finding)
    return sorted(linter.findings, key=lambda f: (f.line, f.element_id, f.message))


def lint_file(path: Path, forms_dir: Path | None = None) -> list[Finding]:
    try:
        source = Path(path).read_bytes()
    except OSError as exc:
        return [Finding(str(path), 0, "-", f"cannot read file: {exc.strerror}")]
    return lint_source(source, str(path), forms_dir)
