"""Messages and signals between cases, as one case's workflow sees them: an adapter module beside engine.workflow.

SpiffWorkflow delivers a message or signal inside one workflow; between cases the platform carries them
(engine.correlation keeps the waits and the outbox, engine.services.messaging delivers). Here:
- `waits`: the message and signal catch events a case waits at, each with the correlation key it waits for;
- `Throws`: the messages and signals a case threw, recorded as their throw events complete, each with its
  correlation key and payload; a message the case caught itself does not leave it, a signal always does (a
  signal is broadcast, BPMN 2.0 10.5.4);
- `start_events`: the message and signal start events at a process's top level (not those of its event
  subprocesses), which start a case.

The designer declares, as extension properties of the catch or throw event (Camunda Modeler: "Extension
properties"), `correlationKey`: a Python expression over the case data giving the key (default at a catch: the
case's receipt number; a thrown message without one has no key and can only start a case), and on a throw event
`payload`: an expression giving the object sent (default: nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from engine.workflow_persistence import ProcessBundle

KINDS = {"MessageEventDefinition": "message", "SignalEventDefinition": "signal"}
RECEIPT = object()  # the key of a catch without correlationKey: the case's receipt number


class EventExpressionError(Exception):
    """A correlationKey or payload expression failed or gave something unusable; names the element."""

    def __init__(self, element_id: str, message: str):
        self.element_id = element_id
        super().__init__(message)


@dataclass(frozen=True)
class Wait:
    kind: str  # message | signal
    name: str
    element_id: str
    key: object  # a string, RECEIPT, or None (a signal: no key)


@dataclass(frozen=True)
class Thrown:
    kind: str
    name: str
    element_id: str
    key: str | None
    payload: dict


def kind_of(definition) -> str | None:
    return KINDS.get(type(definition).__name__)


def _properties(bundle: ProcessBundle, element_id: str) -> dict:
    return (bundle.elements.get(element_id) or {}).get("properties") or {}


def _key(value, element_id: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventExpressionError(element_id, f"correlationKey of '{element_id}' gave {type(value).__name__}, "
                                               "not a text or a whole number")  # fmt: skip
    return str(value)


def waits(bundle: ProcessBundle, waiting: Iterable, evaluate: Callable[[str], object]) -> list[Wait]:
    """The message and signal waits among `waiting` ((task, event definition) pairs); `evaluate` gives a
    correlationKey expression's value on the case data."""
    found = []
    for task, definition in waiting:
        kind = kind_of(definition)
        if kind is None:
            continue
        element_id = _catching_element(task, definition)
        expression = _properties(bundle, element_id).get("correlationKey", "").strip()
        if kind == "signal":
            key = None
        elif not expression:
            key = RECEIPT
        else:
            key = _key(_evaluated(evaluate, expression, element_id, "correlationKey"), element_id)
        found.append(Wait(kind, definition.name, element_id, key))
    return found


def _catching_element(task, definition) -> str:
    """The catch event's id; behind an event-based gateway the event after the gateway that holds it."""
    own = getattr(task.task_spec, "event_definition", None)
    for index, child in enumerate(getattr(own, "event_definitions", None) or []):
        if child is definition and index < len(task.task_spec.outputs):
            return task.task_spec.outputs[index].bpmn_id
    return task.task_spec.bpmn_id


def _evaluated(evaluate: Callable[[str], object], expression: str, element_id: str, what: str):
    try:
        return evaluate(expression)
    except Exception as exc:  # a designer's expression: any failure is theirs to see, named
        raise EventExpressionError(element_id, f"{what} of '{element_id}' ({expression}) failed: {exc}") from None


class Throws:
    """The messages and signals one step of a case threw, in the order their events completed."""

    def __init__(self, bundle: ProcessBundle):
        self.bundle = bundle
        self.recorded: list[Thrown] = []

    def record(self, task, evaluate: Callable[[str], object]) -> None:
        """After `task` completed: if it is a throw event of a message or signal, note what it sends."""
        spec = task.task_spec
        if not isinstance(spec, ThrowingEvent):
            return
        kind = kind_of(getattr(spec, "event_definition", None))
        if kind is None:
            return
        props = _properties(self.bundle, spec.bpmn_id)
        key_expression = props.get("correlationKey", "").strip()
        key = None
        if key_expression and kind == "message":
            key = _key(_evaluated(evaluate, key_expression, spec.bpmn_id, "correlationKey"), spec.bpmn_id)
        payload = {}
        if props.get("payload", "").strip():
            payload = _evaluated(evaluate, props["payload"].strip(), spec.bpmn_id, "payload")
            if not isinstance(payload, dict):
                raise EventExpressionError(spec.bpmn_id, f"payload of '{spec.bpmn_id}' gave "
                                                         f"{type(payload).__name__}, not an object")  # fmt: skip
        self.recorded.append(Thrown(kind, spec.event_definition.name, spec.bpmn_id, key, payload))

    def outgoing(self, uncaught: list) -> list[Thrown]:
        """What leaves the case: every signal; a message only when no element of the case caught it (SpiffWorkflow
        keeps such events among `uncaught`, the workflow's events)."""
        left = [e.event_definition.name for e in uncaught if kind_of(e.event_definition) == "message"]
        out = []
        for thrown in self.recorded:
            if thrown.kind == "signal":
                out.append(thrown)
            elif thrown.name in left:
                left.remove(thrown.name)
                out.append(thrown)
        return out


def start_events(bundle: ProcessBundle) -> list[tuple[str, str]]:
    """(kind, name) of the message and signal start events at the top level of the process."""
    found = []
    for spec in bundle.spec.task_specs.values():
        if isinstance(spec, StartEvent):
            definition = spec.event_definition
            for d in getattr(definition, "event_definitions", None) or [definition]:
                if kind_of(d) is not None:
                    found.append((kind_of(d), d.name))
    return found
