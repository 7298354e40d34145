"""`govflow lint`: everything wrong with a BPMN file that can be known before a case runs.

Findings come as FILE:LINE: ELEMENT_ID: message. Structural checks read the XML; the engine's own parse adds
XSD and semantic validation; every script, condition and timer expression is compiled in the sandbox.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lxml import etree

from engine import diagram, sandbox, workflow_parsing
from engine.diagram import BPMN_NS, BpmnSourceError, Finding, local

_CAMUNDA_EL = re.compile(r"\$\{.*\}|#\{.*\}")
_NO_INCOMING = {"startEvent", "boundaryEvent"}
_DECIDING_GATEWAYS = {"exclusiveGateway", "inclusiveGateway"}
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


class _Linter:
    def __init__(self, filename: str, root: etree._Element, forms_dir: Path | None):
        self.filename = filename
        self.root = root
        self.forms_dir = forms_dir
        self.findings: list[Finding] = []

    def add(self, el: etree._Element | None, element_id: str | None, message: str) -> None:
        line = el.sourceline if el is not None else 0
        self.findings.append(Finding(self.filename, line or 0, element_id or "-", message))

    def run(self) -> None:
        for el in self.root.iter():
            if isinstance(el.tag, str) and el.get("id") in diagram.RESERVED_IDS:
                self.add(el, el.get("id"), f"id '{el.get('id')}' is reserved by the engine; rename the element")
        processes = diagram.executable_processes(self.root)
        if not processes:
            self.add(self.root, self.root.get("id"), 'no executable process: set isExecutable="true"')
        for process in processes:
            self.check_process(process)

    # -- structure
    def check_process(self, process: etree._Element) -> None:
        pid = process.get("id")
        for container in [process, *process.iter(_q("subProcess"), _q("transaction"))]:
            self.check_container(container, top=container is process)
        if not list(process.iterchildren(_q("startEvent"))):
            self.add(process, pid, "process has no start event")
        if not list(process.iterchildren(_q("endEvent"))):
            self.add(process, pid, "process has no end event")
        for el in process.iter():
            tag = local(el.tag)
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
            if incoming[nid] == 0 and tag not in _NO_INCOMING and not self._is_event_subprocess(el):
                self.add(el, nid, f"{tag} has no incoming sequence flow: it can never be reached")
            if not outgoing[nid] and tag != "endEvent" and not self._is_event_subprocess(el):
                self.add(el, nid, f"{tag} has no outgoing sequence flow: the case would stop here")
            if tag in _DECIDING_GATEWAYS and len(outgoing[nid]) > 1:
                default = el.get("default")
                for flow in outgoing[nid]:
                    if flow.get("id") != default and flow.find(_q("conditionExpression")) is None:
                        self.add(
                            flow, flow.get("id"),
                            f"leaves gateway '{nid}' without a condition and is not its default flow",
                        )  # fmt: skip

    @staticmethod
    def _is_event_subprocess(el: etree._Element) -> bool:
        return local(el.tag) == "subProcess" and el.get("triggeredByEvent") == "true"

    # -- tasks and expressions
    def check_user_task(self, el: etree._Element) -> None:
        facts = diagram.element_facts(self._process_of(el)).get(el.get("id"), {})
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
        for expr in _PLACEHOLDER.findall(value):
            for problem in sandbox.check(expr, "eval"):
                self.add(el, el.get("id"), f"expression '${{{expr}}}' in '{value}': {problem}")

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
        if script is None or not (script.text or "").strip():
            self.add(el, el.get("id"), "script task has no script")
            return
        for problem in sandbox.check(script.text, "exec"):
            self.add(el, el.get("id"), f"script: {problem}")

    def check_expression(self, owner: etree._Element, text: str | None, what: str) -> None:
        text = (text or "").strip()
        oid = owner.get("id") if owner is not None else None
        if not text:
            self.add(owner, oid, f"{what} is empty")
        elif _CAMUNDA_EL.search(text):
            self.add(owner, oid, f"{what} '{text}' uses Camunda expression language; write a Python expression")
        else:
            for problem in sandbox.check(text, "eval"):
                self.add(owner, oid, f"{what} '{text}': {problem}")


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
        return [Finding(filename, exc.line or 0, exc.element_id or "-", exc.message)]
    linter = _Linter(filename, root, forms_dir)
    linter.run()
    if not linter.findings:
        try:
            workflow_parsing.parse(source, filename)
        except BpmnSourceError as exc:
            linter.findings.append(Finding(filename, exc.line or 0, exc.element_id or "-", exc.message))
    return sorted(linter.findings, key=lambda f: (f.line, f.element_id, f.message))


def lint_file(path: Path, forms_dir: Path | None = None) -> list[Finding]:
    try:
        source = Path(path).read_bytes()
    except OSError as exc:
        return [Finding(str(path), 0, "-", f"cannot read file: {exc.strerror}")]
    return lint_source(source, str(path), forms_dir)
