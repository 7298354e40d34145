"""How SpiffWorkflow specs and case states are stored: an adapter module beside engine.workflow, and like
it, one that imports SpiffWorkflow (only engine.workflow and engine.workflow_parsing import this one).

A process spec is serialised once per process version; a case's state is serialised without its spec and
restored onto the version's spec, which every case of that version shares. SpiffWorkflow changes a few specs
while a case runs (a Camunda multi-instance sets its input collection; an event subprocess triggered by a
message, signal or error is connected to the start when it first fires). Saved with the case, as SpiffWorkflow
saves them, those changes survive a reload; left on the shared spec, they are gone when the spec is restored
again (after a restart, on another worker), and the case then loses data or stops ("No input task connected").
`settle_spec` makes them once, when a spec is parsed or loaded, the same for every case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as _PlainMessage
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.multiinstance_task import ParallelMultiInstanceTask as _CamundaParallel
from SpiffWorkflow.camunda.specs.multiinstance_task import SequentialMultiInstanceTask as _CamundaSequential
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.workflow_flows import OutgoingFlows, OutgoingFlowsConverter


@dataclass
class ProcessBundle:
    """One executable process ready to instantiate: its spec, its subprocess specs and XML facts."""

    key: str
    name: str | None
    dialect: str
    spec: object
    subprocess_specs: dict
    elements: dict


class _SpecByReference(BpmnWorkflowConverter):
    """Leaves the spec out of a case's state; the spec is stored once with its process version."""

    def to_dict(self, workflow):
        dct = super().to_dict(workflow)
        del dct["spec"], dct["subprocess_specs"]
        return dct

    def from_dict(self, dct, bundle: ProcessBundle | None = None):
        if bundle is None:
            return super().from_dict(dct)
        workflow = self.target_class(bundle.spec, bundle.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _serializer(config: dict) -> BpmnWorkflowSerializer:
    config = dict(config)
    config[BpmnWorkflow] = _SpecByReference
    config[OutgoingFlows] = OutgoingFlowsConverter
    if _PlainMessage not in config:
        # The Camunda config drops the plain message definition that the Camunda parser still gives receive
        # tasks: register it again under its own type name (the Camunda one is also "MessageEventDefinition").
        config[_PlainMessage] = _plain_message_converter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


def _plain_message_converter(target_class, registry):
    class Converter(DEFAULT_CONFIG[_PlainMessage]):
        pass

    return Converter(target_class, registry, typename="PlainMessageEventDefinition")


_SERIALIZERS = {"camunda": _serializer(CAMUNDA_CONFIG), "spiff": _serializer(SPIFF_CONFIG),
                "bpmn": _serializer(DEFAULT_CONFIG)}  # fmt: skip


def settle_spec(bundle: ProcessBundle) -> ProcessBundle:
    """Make, once and for every case, the changes SpiffWorkflow would make to the spec while a case runs."""
    for process in (bundle.spec, *bundle.subprocess_specs.values()):
        for spec in list(process.task_specs.values()):
            if isinstance(spec, _CamundaParallel | _CamundaSequential) and spec.cardinality is None:
                # What the Camunda multi-instance does on each activation: the collection is input and output.
                if spec.data_output is not None:
                    spec.data_input = TaskDataReference(spec.data_output.bpmn_id)
                if spec.output_item is not None:
                    spec.input_item = TaskDataReference(spec.output_item.bpmn_id)
            for name in getattr(spec, "trigger_specs", ()):
                # What the start task does when it first triggers the event subprocess `name`; the start's own
                # outputs are left as parsed: only the event subprocess needs its input and where it ends.
                triggered = process.task_specs[name]
                if spec.name not in triggered._inputs:
                    triggered._connect_notify(spec)
                if process.end.name not in triggered._outputs:
                    triggered.connect(process.end)
    return bundle


def dump_spec(bundle: ProcessBundle) -> str:
    reg = _SERIALIZERS[bundle.dialect].registry
    return json.dumps(
        {
            "spec": reg.convert(bundle.spec),
            "subprocess_specs": {k: reg.convert(v) for k, v in bundle.subprocess_specs.items()},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def load_spec(key: str, name: str | None, dialect: str, spec_json: str, elements: dict) -> ProcessBundle:
    reg = _SERIALIZERS[dialect].registry
    dct = json.loads(spec_json)
    spec = reg.restore(dct["spec"])
    subprocesses = {k: reg.restore(v) for k, v in dct["subprocess_specs"].items()}
    return settle_spec(ProcessBundle(key, name, dialect, spec, subprocesses, elements))


def restore_state(bundle: ProcessBundle, state: str, version: str) -> BpmnWorkflow:
    """A case's workflow from its stored state, on the version's spec (migrated first when it is older)."""
    ser = _SERIALIZERS[bundle.dialect]
    dct = json.loads(state)
    if version == SERIALIZER_VERSION:
        return ser.registry.restore(dct, bundle=bundle)
    # Migrations need the spec inside the state: put it back before migrating.
    dct.update(json.loads(dump_spec(bundle)))
    dct[ser.VERSION_KEY] = version
    ser.migrate(dct)
    return ser.registry.restore(dct)


def dump_state(bundle: ProcessBundle, wf: BpmnWorkflow) -> tuple[str, str]:
    """A case's state without its spec, and the serializer version it was written with."""
    dct = _SERIALIZERS[bundle.dialect].to_dict(wf)
    return json.dumps(dct, separators=(",", ":"), ensure_ascii=False), SERIALIZER_VERSION


def unstorable_specs(bundle: ProcessBundle) -> list[str]:
    """BPMN ids of the task specs a case of this bundle could not be saved with (the dialect's serializer has no
    converter for them: the plain service task, a multi-instance script task in a Camunda file)."""
    typenames = _SERIALIZERS[bundle.dialect].registry.typenames
    return [
        spec.bpmn_id
        for process in (bundle.spec, *bundle.subprocess_specs.values())
        for spec in process.task_specs.values()
        if type(spec) not in typenames and getattr(spec, "bpmn_id", None)
    ]
