"""An error end event whose error nothing caught, as BPMN 2.0 ends the process for it: an adapter module beside
engine.workflow, which asks it after every engine step.

SpiffWorkflow keeps such an error among the workflow's events and runs on; BPMN says the process ends
abnormally there: every other thread is cancelled, and the case is in `error`, not completed. The root task's
internal data remembers which end event threw which error, so a restored case knows it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent

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
