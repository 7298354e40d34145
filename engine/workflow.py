"""The adapter around SpiffWorkflow for running a case: the home of a case's workflow object and of the few
operations the services need on it, each guarded against the engine's sharp edges (ENGINE_NOTES).

It runs engine steps inside the sandboxed script environment, completes tasks, delivers messages, fires and
re-arms timers, and ends a process that an uncaught error ended. Its siblings are the other modules that import
SpiffWorkflow: engine.workflow_parsing (BPMN files into process specs), engine.workflow_flows (the flows leaving
an activity), engine.workflow_persistence (specs once per version, case states without their spec) and
engine.workflow_clock (the platform's clock in SpiffWorkflow's timers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException

from engine import workflow_errors
from engine.case_data import CASE_DATA_LIMIT, CASE_KEY, CaseData, NotPlainData
from engine.sandbox import SandboxError
from engine.workflow_errors import EndedByError, UnhandledError
from engine.workflow_events import EventExpressionError, Thrown, Throws, Wait, kind_of, waits
from engine.workflow_parsing import describe
from engine.workflow_persistence import ProcessBundle as ProcessBundle
from engine.workflow_persistence import dump_spec as dump_spec
from engine.workflow_persistence import dump_state, restore_state
from engine.workflow_persistence import load_spec as load_spec
from engine.workflow_scripts import script_engine as script_engine
from engine.workflow_tasks import is_instance, is_multi_instance, legacy_data, merges_copies


# --- errors -------------------------------------------------------------------------------------------------
class EngineError(Exception):
    """Base of the adapter's errors."""


class ScriptFailure(EngineError):
    """A script, condition or timer expression in the diagram failed while the case ran."""

    def __init__(self, element_id: str | None, message: str):
        self.element_id = element_id
        self.message = message
        super().__init__(f"{element_id or 'process'}: {message}")


class TaskNotReady(EngineError):
    """The task the caller saw is no longer ready to run (completed, cancelled, or never ready)."""


class NotWaiting(EngineError):
    """The case is not waiting for the message that was sent."""


# --- running a case -----------------------------------------------------------------------------------------
_MAX_ENGINE_ROUNDS = 100
_CARRIES_DATA = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class UserTaskView:
    """A ready user (or manual) task as the platform sees it."""

    id: str
    bpmn_id: str
    name: str | None
    data: dict


class CaseWorkflow:
    """One case's workflow object, used by one thread inside one service call."""

    def __init__(self, wf: BpmnWorkflow, bundle: ProcessBundle):
        self.wf = wf
        self.bundle = bundle
        if CASE_KEY not in wf.task_tree.internal_data:
            CaseData.initialise(wf.task_tree, legacy_data(wf))  # a state saved before the case kept its data
        self.data = CaseData(wf.task_tree, self._find_task, is_instance, merges_copies)
        self.throws = Throws(bundle)
        self._walk: list | None = None  # the tasks that carry data, in tree order, while the workflow stands still
        self._moving = False

    def _tasks(self, state: int) -> list:
        """The tasks in `state`, in tree order. After a step the platform asks several questions of the same
        task tree (ready user tasks, waiting timers, active elements, the data to share): one walk of the tree
        answers all of them until the workflow moves again (every move goes through `_guarded`)."""
        if state & ~_CARRIES_DATA or self._moving:
            return self.wf.get_tasks(state=state)  # (while it moves, helpers called by its scripts ask afresh)
        if self._walk is None:
            self._walk = self.wf.get_tasks(state=_CARRIES_DATA)
        return [t for t in self._walk if t.state & state]

    @classmethod
    def start(cls, bundle: ProcessBundle, data: dict, engine: PythonScriptEngine) -> CaseWorkflow:
        wf = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=engine)
        wf.task_tree.data.update(data)
        CaseData.initialise(wf.task_tree, data)
        return cls(wf, bundle)

    @classmethod
    def load(cls, bundle: ProcessBundle, state: str, version: str, engine: PythonScriptEngine) -> CaseWorkflow:
        wf = restore_state(bundle, state, version)
        wf.script_engine = engine  # the engine is not serialised
        return cls(wf, bundle)

    def dump(self) -> tuple[str, str]:
        return dump_state(self.bundle, self.wf)

    def _find_task(self, task_id):
        return self.wf.get_task_from_id(task_id)

    # -- stepping
    def run_engine_steps(self, on_done: Callable[[str], None] | None = None) -> None:
        """Run automatic tasks (scripts, gateways, events) and fire due timers until only waits remain."""

        def did_complete(task):
            self.data.after(task)
            self.throws.record(task, self._evaluate)
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if on_done and bpmn_id:
                on_done(bpmn_id)
            if workflow_errors.stops_here(self.wf, task):
                raise EndedByError()  # nothing else may run: the error ends the process here

        def steps():
            try:
                self.wf.do_engine_steps(self.data.before, did_complete)
                # do_engine_steps refreshes timers last: a timer found due there is READY but would wait, unseen
                # by next_timer_due, for the next step of the case. Run on until only waits remain.
                for _ in range(_MAX_ENGINE_ROUNDS):
                    if not any(not t.task_spec.manual for t in self.wf.get_tasks(state=TaskState.READY)):
                        break
                    self.wf.do_engine_steps(self.data.before, did_complete)
            except EndedByError:
                pass
            workflow_errors.end_on_unhandled_error(self.wf)

        self._guarded(steps)

    @property
    def unhandled_error(self) -> UnhandledError | None:
        """The error that ended the process uncaught, if one did."""
        return workflow_errors.unhandled_error(self.wf)

    def fire_due_timers(self, on_done: Callable[[str], None] | None = None) -> None:
        self._guarded(self.wf.refresh_timers)
        self.run_engine_steps(on_done)

    def _guarded(self, step: Callable[[], object]) -> None:
        moving, self._walk, self._moving = self._moving, None, True
        try:
            step()
        except SandboxError as exc:
            raise ScriptFailure(None, str(exc)) from None
        except NotPlainData as exc:
            raise ScriptFailure(exc.element_id, exc.message) from None
        except EventExpressionError as exc:
            raise ScriptFailure(exc.element_id, str(exc)) from None
        except WorkflowException as exc:
            spec = getattr(exc, "task_spec", None)
            # The split after an activity's conditional flows (engine.workflow_flows) has no BPMN id of its own.
            element = getattr(spec, "bpmn_id", None) or getattr(spec, "source", None)
            raise ScriptFailure(element, _workflow_message(exc)) from None
        except SpiffWorkflowException as exc:
            raise ScriptFailure(None, _workflow_message(exc)) from None
        except Exception as exc:
            # The engine parses a timer's value outside its own error handling: a timer expression giving
            # something that is not an ISO time raises a bare error (even a plain Exception) and would leave
            # the timer dead. Anything else is a bug and propagates as it is.
            element = self._failing_timer()
            if element is None:
                raise
            raise ScriptFailure(element[0], f"timer expression {element[1]!r}: {describe(exc)}") from None
        finally:
            self._walk, self._moving = None, moving  # the tree may have moved, even when the step failed half-way
        self._show_all()  # what is asked next (timer expressions to re-arm, forms, groups) reads the tasks' data

    # -- timers
    def _timer_tasks(self, state: int = TaskState.WAITING) -> Iterable:
        """(task, timer definition) of the timers the case is waiting on (or in another `state`)."""
        for task in self._tasks(state):
            definition = getattr(task.task_spec, "event_definition", None)
            for d in getattr(definition, "event_definitions", None) or [definition]:
                if isinstance(d, TimerEventDefinition):
                    yield task, d

    def _failing_timer(self) -> tuple[str, str] | None:
        """The first waiting timer whose expression does not give a usable time: (BPMN id, expression)."""
        waiting = list(self._timer_tasks())
        others = [pair for pair in self._timer_tasks(TaskState.NOT_FINISHED_MASK) if pair not in waiting]
        for task, definition in waiting + others:  # the timers armed now are the likeliest culprits
            try:
                value = self.wf.script_engine.evaluate(task, definition.expression)
                if type(definition).__name__ == "CycleTimerEventDefinition":
                    TimerEventDefinition.parse_iso_recurring_interval(value)
                else:
                    TimerEventDefinition.parse_time_or_duration(value)
            except Exception:  # noqa: BLE001 - any failure here is the answer we are looking for
                return task.task_spec.bpmn_id, definition.expression
        return None

    def rearm_timers(self) -> list[str]:
        """Evaluate the expressions of the waiting date timers again (a limit moved: clock stop, extension) so
        they fire at the moved time; returns the BPMN ids re-armed. Duration and cycle timers keep their time."""
        rearmed = []

        def rearm():
            for task, definition in self._timer_tasks():
                if type(definition).__name__ != "TimeDateEventDefinition" or task.internal_data.get("event_fired"):
                    continue
                value = self.wf.script_engine.evaluate(task, definition.expression)
                TimerEventDefinition.parse_time_or_duration(value)  # refuse a bad value now, not at firing
                if task.internal_data.get("event_value") != value:
                    task.internal_data["event_value"] = value
                    rearmed.append(task.task_spec.bpmn_id)

        self._guarded(rearm)
        return rearmed

    def active_instances(self, bpmn_ids: set[str] | frozenset[str]) -> list[tuple[str, str | None]]:
        """The active activities among `bpmn_ids` as (BPMN id, instance): for a multi-instance child, the value
        of its element variable (e.g. the co-department), else None. The multi-instance parent is left out."""
        found = []
        for task in self._tasks(TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            spec = task.task_spec
            bpmn_id = getattr(spec, "bpmn_id", None)
            if bpmn_id not in bpmn_ids or is_multi_instance(spec):
                continue
            parent = task.parent.task_spec if task.parent is not None else None
            if parent is not None and is_multi_instance(parent) and getattr(parent, "bpmn_id", None) == bpmn_id:
                item = getattr(parent, "input_item", None)
                value = task.data.get(item.bpmn_id) if item is not None else None
                found.append((bpmn_id, None if value is None else str(value)))
            else:
                found.append((bpmn_id, None))
        return found

    def user_tasks(self) -> list[UserTaskView]:
        return [
            UserTaskView(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name, t.data)
            for t in self._tasks(TaskState.READY)
            if t.task_spec.manual
        ]

    def complete(self, task_id: str, data: dict, on_done: Callable[[str], None] | None = None) -> str:
        """Complete a READY user task with the submitted data; returns its BPMN id."""
        try:
            task = self.wf.get_task_from_id(UUID(task_id))
        except (ValueError, TaskNotReady, SpiffWorkflowException):
            task = None
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            # Running a non-READY task reruns or skips paths (ENGINE_NOTES): refuse.
            raise TaskNotReady(f"task {task_id} is not ready")
        bpmn_id = task.task_spec.bpmn_id

        def run():
            self.data.before(task)
            task.data.update(data)
            task.run()
            self.data.after(task)

        self._guarded(run)
        if on_done:
            on_done(bpmn_id)
        self.run_engine_steps(on_done)
        return bpmn_id

    def send_message(self, name: str, payload: dict, on_done: Callable[[str], None] | None = None) -> None:
        """Deliver a named message to the (first) event waiting for it. Its fields become case data (on Camunda
        diagrams also the variable named by camunda:resultVariable, default the message name)."""
        self.deliver("message", name, payload, on_done)

    def send_signal(self, name: str, payload: dict, on_done: Callable[[str], None] | None = None) -> None:
        """Deliver a signal to every event of the case waiting for it; its fields become case data."""
        self.deliver("signal", name, payload, on_done)

    def deliver(self, kind: str, name: str, payload: dict, on_done: Callable[[str], None] | None = None) -> None:
        """Deliver a message (to the first event waiting for it) or a signal (to every one)."""
        catching = [(t, d) for t, d in self._waiting_definitions() if kind_of(d) == kind and d.name == name]
        if not catching:
            raise NotWaiting(f"the case is not waiting for {kind} '{name}'")
        for task, _ in catching if kind == "signal" else catching[:1]:
            self.data.write(task, payload)
        definition = catching[0][1]
        if hasattr(definition, "result_var"):  # the Camunda flavour wraps its payload
            body = {"payload": payload, "result_var": definition.result_var or name}
        else:
            body = payload
        event = BpmnEvent(definition, payload=body)
        self._guarded(lambda: self.wf.send_event(event))
        # Behind an event-based gateway the catching event is a child of the gateway: give the payload to
        # whichever task caught it, so its fields flow on as case data.
        for caught in self.wf.get_tasks(state=TaskState.READY):
            caught_def = getattr(caught.task_spec, "event_definition", None)
            if getattr(caught_def, "name", None) == name:
                self.data.write(caught, payload)
        self.run_engine_steps(on_done)

    def waits(self) -> list[Wait]:
        """The message and signal events the case waits at, with their correlation keys."""
        try:
            return waits(self.bundle, self._waiting_definitions(), self._evaluate)
        except EventExpressionError as exc:
            raise ScriptFailure(exc.element_id, str(exc)) from None

    def outgoing(self) -> list[Thrown]:
        """The messages and signals this step threw that leave the case (taken: asked once per step)."""
        out = self.throws.outgoing(self.wf.bpmn_events)
        self.wf.bpmn_events = [e for e in self.wf.bpmn_events if kind_of(e.event_definition) is None]
        self.throws.recorded.clear()
        return out

    def _evaluate(self, expression: str) -> object:
        return self.wf.script_engine.environment.evaluate(expression, self.current_data())

    def waiting_messages(self) -> list[str]:
        return sorted({d.name for _, d in self._waiting_definitions() if kind_of(d) == "message"})

    def _waiting_definitions(self) -> Iterable:
        for task in list(self.wf.event_manager.tasks.values()):
            definition = task.task_spec.event_definition
            for d in getattr(definition, "event_definitions", None) or [definition]:
                yield task, d

    def next_timer_due(self) -> datetime | None:
        """The earliest due time of the timers the case is waiting on."""
        due = []
        for task in self._tasks(TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            definitions = getattr(definition, "event_definitions", None) or [definition]
            if not any(isinstance(d, TimerEventDefinition) for d in definitions):
                continue
            value = task.internal_data.get("event_value")
            if isinstance(value, dict):
                value = value.get("next") if value.get("cycles") else None
            if isinstance(value, str):
                try:
                    parsed = TimerEventDefinition.get_datetime(value)
                except ValueError:
                    continue
                due.append(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
        return min(due) if due else None

    @property
    def completed(self) -> bool:
        return self.wf.is_completed()

    def current_data(self) -> dict:
        """The case's variables now (engine.case_data): the locals of multi-instance instances are left out."""
        return deepcopy(self.data.case)

    def correct_data(self, changes: dict) -> None:
        """Change case variables outside any task (a correction made for them); the tasks on the way see them."""
        self.data.case.update(deepcopy(changes))
        self._show_all()

    def share_data(self, limit: int = CASE_DATA_LIMIT) -> dict:
        """The case's variables, for the case's data snapshot (ScriptFailure when over `limit` bytes). Every task
        on the way (a waiting branch, a form opened before another branch wrote) already shows them: each move of
        the workflow ends by showing them to the ready, waiting and started tasks."""
        try:
            return self.data.shared(limit)
        except NotPlainData as exc:
            raise ScriptFailure(exc.element_id, exc.message) from None

    def _show_all(self) -> None:
        for task in self._tasks(TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            self.data.show(task)

    def active_elements(self) -> list[str]:
        return sorted(
            {
                t.task_spec.bpmn_id
                for t in self._tasks(TaskState.READY | TaskState.WAITING | TaskState.STARTED)
                if getattr(t.task_spec, "bpmn_id", None)
            }
        )


def _workflow_message(exc: Exception) -> str:
    text = str(exc).strip().split("\n")[0]
    cause = getattr(exc, "error_type", None)
    if cause and cause != "unknown" and cause not in text:
        text = f"{cause}: {text}"
    return text
