"""BPMN errors and escalations as the case runs them: an adapter module beside engine.workflow.

- An error end event whose error nothing caught: SpiffWorkflow keeps such an error among the workflow's events
  and runs on; BPMN says the process ends abnormally there: every other thread is cancelled, and the case is in
  `error`, not completed. The root task's internal data remembers which end event threw which error, so a
  restored case knows it too.
- A script task that throws (`throw_error("CODE")`, `throw_escalation("CODE")` in the sandbox): the event goes to
  the boundary events that catch its code, on the task itself or on a sub-process around it, innermost first
  (BPMN 2.0, 10.5.4 "Error" and "Escalation"). A caught error interrupts the task; a caught escalation
  interrupts it only when the catching boundary event is interrupting. An escalation nobody catches changes
  nothing (the script task completes); an error nobody catches fails the step like any script error: the case
  is in `error` at the script task, naming the code, and can be retried once the data or the diagram is fixed.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util import BpmnEvent

from engine.sandbox import ThrownEvent

_UNHANDLED_KEY = "unhandled_error"  # in the root task's internal data: where and which error ended the case


class EndedByError(Exception):
    """Raised from the engine's own hook to stop its steps: an error end event's error was not caught."""


@dataclass(frozen=True)
class UnhandledError:
    """An error end event threw an error that no boundary event or event subprocess caught: the process ended
    abnormally (its other threads are cancelled) and the case is in `error`, not completed."""

    element_id: str
    code: str | None
    name: str | None

    @property
    def message(self) -> str:
        named = f" ({self.name})" if self.name and self.name != self.code else ""
        return (f"error end event '{self.element_id}' threw error {self.code or '(no code)'}{named} and no boundary "
                f"event or event subprocess caught it: the process ended abnormally")  # fmt: skip


def uncaught_errors(wf: BpmnWorkflow) -> list:
    """The errors that reached the top of the process with nothing to catch them."""
    return [e for e in wf.bpmn_events if isinstance(e.event_definition, ErrorEventDefinition)]


def stops_here(wf: BpmnWorkflow, task) -> bool:
    """Whether the task just completed is an end event whose error nothing caught: no other task may run."""
    return isinstance(task.task_spec, EndEvent) and bool(uncaught_errors(wf))


def end_on_unhandled_error(wf: BpmnWorkflow) -> None:
    """End the process when an error reached its top uncaught: every other thread is cancelled, and the case
    remembers which end event threw which error."""
    errors = uncaught_errors(wf)
    if not errors:
        return
    wf.bpmn_events = [e for e in wf.bpmn_events if e not in errors]
    if _UNHANDLED_KEY in wf.task_tree.internal_data:
        return
    definition = errors[0].event_definition
    throwers = [
        t for t in wf.get_tasks(state=TaskState.COMPLETED)
        if isinstance(t.task_spec, EndEvent) and t.task_spec.event_definition == definition
    ]  # fmt: skip
    thrower = max(throwers, key=lambda t: t.last_state_change) if throwers else None
    wf.task_tree.internal_data[_UNHANDLED_KEY] = {
        "element": thrower.task_spec.bpmn_id if thrower is not None else None,
        "code": definition.code,
        "name": definition.name,
    }
    wf.cancel()


def unhandled_error(wf: BpmnWorkflow) -> UnhandledError | None:
    """The error that ended the process uncaught, if one did."""
    found = wf.task_tree.internal_data.get(_UNHANDLED_KEY)
    return UnhandledError(found["element"], found["code"], found["name"]) if found else None


def throw_from_script(task, thrown: ThrownEvent) -> bool | None:
    """Throw the script's error or escalation from its task; what SpiffWorkflow's task run expects back: None
    (the task was interrupted: it waits to be cancelled) or True (it completes)."""
    kind = ErrorEventDefinition if thrown.kind == "error" else EscalationEventDefinition
    event = BpmnEvent(kind(thrown.code, code=thrown.code), payload=deepcopy(task.data), target=task.workflow)
    top = task.workflow.top_workflow
    interrupting_before = {t.id for t in _interrupting_catchers(top)}
    top.catch(event)
    if any(e is event for e in top.bpmn_events):  # nothing caught it
        top.bpmn_events = [e for e in top.bpmn_events if e is not event]
        if thrown.kind == "escalation":
            return True
        said = f" ({thrown.message})" if thrown.message else ""
        raise WorkflowTaskException(
            f"the script threw error {thrown.code}{said} and no boundary event catches it", task=task
        )
    if thrown.kind == "error":
        return None
    interrupted = any(t.id not in interrupting_before for t in _interrupting_catchers(top))
    return None if interrupted else True


def _interrupting_catchers(top: BpmnWorkflow) -> list:
    return [
        t for t in top.get_tasks(state=TaskState.READY)
        if isinstance(t.task_spec, BoundaryEvent) and t.task_spec.cancel_activity
    ]  # fmt: skip
