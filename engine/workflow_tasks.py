"""What kind of task a SpiffWorkflow task is, as the case data and the active elements need to know: an adapter
module beside engine.workflow."""

from __future__ import annotations

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.specs.Join import Join


def is_multi_instance(spec) -> bool:
    return hasattr(spec, "input_item") and hasattr(spec, "task_spec")


def is_instance(task) -> bool:
    """Whether the task is an instance of a multi-instance activity (loop iterations are not)."""
    parent = task.parent.task_spec if task.parent is not None else None
    return is_multi_instance(parent) and parent.task_spec == task.task_spec.name


def merges_copies(spec) -> bool:
    """Joins merge the copies of data their branches carried: what they leave is not a change of theirs."""
    return isinstance(spec, Join)


def legacy_data(wf: BpmnWorkflow) -> dict:
    """The variables of a case saved before they were kept apart: the newest copies win."""
    if wf.is_completed():
        return dict(wf.data or (wf.last_task.data if wf.last_task else {}))
    data = dict(wf.task_tree.data)
    for state in (TaskState.WAITING, TaskState.READY):
        for task in wf.get_tasks(state=state):
            if not is_instance(task):
                data.update(task.data)
    if wf.last_task is not None and not is_instance(wf.last_task):
        data.update(wf.last_task.data)
    return data
