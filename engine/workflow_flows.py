"""Sequence flows leaving an activity, as BPMN 2.0 runs them and SpiffWorkflow refuses them ("Multiple outgoing
flows are not supported for tasks of type"): an adapter module beside engine.workflow_parsing, which parses with
it, and engine.workflow_persistence, which stores the split it adds.

When an activity (a task of any kind, a sub-process, a call activity) completes, BPMN passes a token along:
- every outgoing flow without a condition (several of them: an implicit parallel split);
- every outgoing flow whose condition holds;
- the default flow only when no other flow gets a token (BPMN 2.0, Sequence Flow: the default is taken only
  when none of the other outgoing flows is);
and when no flow gets one (every flow conditional, none holds, no default) the case cannot go on: it stops in
`error`, naming the activity.

Unconditioned flows alone need nothing more than SpiffWorkflow has: a task spec connected to several outputs
readies them all. The same holds for several flows leaving an intermediate or boundary event; a condition on a
flow leaving an event is refused, naming the flow. Conditional and default flows go through `OutgoingFlows`, a
split without a BPMN id (it is in no trace, no active elements, no audit), put between the activity and its
targets when the diagram is parsed.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec, _BpmnCondition
from SpiffWorkflow.task import TaskState

ACTIVITY_TAGS = frozenset(
    full_tag(tag)
    for tag in ("task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                "businessRuleTask", "callActivity", "subProcess", "transaction")
)  # fmt: skip
# Events whose parsers SpiffWorkflow gives one outgoing flow only (start events and event-based gateways take
# several already). Several flows leaving one of them are an implicit parallel split too; a condition on a flow
# leaving an event has no meaning in BPMN (conditions are for flows leaving activities and gateways).
EVENT_TAGS = frozenset(full_tag(tag) for tag in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"))


class NoFlowTaken(WorkflowTaskException):
    """No outgoing flow of an activity could take the token: every one is conditional, none holds, no default."""


class OutgoingFlows(BpmnTaskSpec):
    """The split after an activity with conditional or default outgoing flows. `flows`: one dict per outgoing
    sequence flow, in the parser's order: {"id", "condition" (None: unconditioned), "target" (task spec name),
    "default"}. `source`: the activity's BPMN id, named when no flow can be taken."""

    def __init__(self, wf_spec, name, source=None, flows=None, **kwargs):
        super().__init__(wf_spec, name, **kwargs)
        self.source = source
        self.flows = list(flows or [])

    def add_flow(self, flow_id: str, condition: str | None, target, default: bool) -> None:
        self.flows.append({"id": flow_id, "condition": condition, "target": target.name, "default": default})
        self.connect(target)

    def _predict_hook(self, my_task):
        spec = my_task.workflow.spec.get_task_spec_from_name
        certain = [spec(f["target"]) for f in self.flows if f["condition"] is None and not f["default"]]
        state = TaskState.MAYBE if my_task.state == TaskState.MAYBE else TaskState.LIKELY
        my_task._sync_children(certain, state)
        for flow in self.flows:
            if flow["condition"] is not None or flow["default"]:
                my_task._add_child(spec(flow["target"]), TaskState.MAYBE)

    def _run_hook(self, my_task):
        taken = [f for f in self.flows if not f["default"] and self._holds(my_task, f)]
        if not taken:
            taken = [f for f in self.flows if f["default"]]
        if not taken:
            conditions = ", ".join(f"{f['id']}: {f['condition']}" for f in self.flows)
            raise NoFlowTaken(
                f"no outgoing sequence flow of '{self.source}' can be taken: no condition holds ({conditions}) and "
                f"the activity has no default flow; mark one flow as its default or correct the case data",
                task=my_task,
            )
        spec = my_task.workflow.spec.get_task_spec_from_name
        my_task._sync_children([spec(f["target"]) for f in taken], TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True

    @staticmethod
    def _holds(my_task, flow: dict) -> bool:
        if flow["condition"] is None:
            return True
        return bool(_BpmnCondition(flow["condition"])._matches(my_task))


class OutgoingFlowsConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec):
        dct = super().to_dict(spec)
        dct["source"] = spec.source
        dct["flows"] = [dict(flow) for flow in spec.flows]
        return dct


def activity_parser(base: type) -> type:
    """`base` (a task parser) that accepts several outgoing flows, conditional and default ones included."""

    class ActivityParser(base):
        def handles_multiple_outgoing(self):
            return True

        def connect_outgoing(self, outgoing_task, sequence_flow_node, is_default):
            flows = self.process_parser.get_outgoing_sequence_flows(self.bpmn_id)
            conditional = any(self.parse_condition(flow) is not None for flow in flows)
            if not conditional and not (self.node.get("default") and len(flows) > 1):
                return super().connect_outgoing(outgoing_task, sequence_flow_node, is_default)  # all taken
            name = f"{self.bpmn_id}.OutgoingFlows"
            split = self.spec.task_specs.get(name)
            if split is None:
                split = OutgoingFlows(self.spec, name, source=self.bpmn_id, lane=self.task.lane)
                self.task.connect(split)
            condition = None if is_default else self.parse_condition(sequence_flow_node)
            split.add_flow(sequence_flow_node.get("id"), condition, outgoing_task, is_default)
            return None

    ActivityParser.__name__ = f"Activity{base.__name__}"
    return ActivityParser


def event_parser(base: type) -> type:
    """`base` (an event parser) that accepts several unconditioned outgoing flows and refuses conditional ones."""

    class EventParser(base):
        def handles_multiple_outgoing(self):
            return True

        def connect_outgoing(self, outgoing_task, sequence_flow_node, is_default):
            if self.parse_condition(sequence_flow_node) is not None:
                raise ValidationException(
                    f"conditional sequence flow leaving event '{self.bpmn_id}': only flows leaving a task or a "
                    f"gateway can have a condition; put an exclusive gateway after the event",
                    node=sequence_flow_node,
                    file_name=self.filename,
                )
            return super().connect_outgoing(outgoing_task, sequence_flow_node, is_default)

    EventParser.__name__ = f"Event{base.__name__}"
    return EventParser


def with_activity_flows(parser_class: type) -> type:
    """A BPMN parser class (plain, Camunda, Spiff) whose activity and event parsers run every outgoing flow."""
    made: dict[tuple, type] = {}

    class Parser(parser_class):
        def _get_parser_class(self, tag):
            node_parser, spec_class = super()._get_parser_class(tag)
            wrap = activity_parser if tag in ACTIVITY_TAGS else event_parser if tag in EVENT_TAGS else None
            if wrap is None or node_parser is None:
                return node_parser, spec_class
            if (wrap, node_parser) not in made:
                made[wrap, node_parser] = wrap(node_parser)
            return made[wrap, node_parser], spec_class

    Parser.__name__ = parser_class.__name__
    return Parser
