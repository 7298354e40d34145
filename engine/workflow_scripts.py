"""The script environment of a case's workflow: SpiffWorkflow's script engine running every snippet of a diagram
(scripts, conditions, timer and other expressions) in govflow's sandbox: an adapter module beside
engine.workflow."""

from __future__ import annotations

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine import expressions, workflow_errors
from engine.sandbox import Sandbox, SandboxViolation, ThrownEvent


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, sandbox: Sandbox):
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(self, expression, context, external_context=None):
        data = {**external_context, **context} if external_context else context
        try:
            expression = expressions.python_of(expression)  # a Camunda Modeler file's ${...}: its Python meaning
        except expressions.ExpressionRefused as exc:
            raise SandboxViolation(str(exc)) from None
        return self.sandbox.evaluate(expression, data)

    def execute(self, script, context, external_context=None):
        self.sandbox.execute(script, context)
        return True


class _CaseScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine, with one addition: a script task may throw a BPMN error or escalation."""

    def evaluate(self, task, expression, external_context=None):
        if expression is None:  # a Camunda message throw without a payload expression: its payload is empty
            return None
        return super().evaluate(task, expression, external_context)

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ThrownEvent as thrown:
            return workflow_errors.throw_from_script(task, thrown)
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err) from None


def script_engine(sandbox: Sandbox) -> PythonScriptEngine:
    return _CaseScriptEngine(environment=_SandboxEnvironment(sandbox))
