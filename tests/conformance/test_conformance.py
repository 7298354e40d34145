"""Conformance: small diagrams, one per construct, each with the trace and the final case data that the BPMN 2.0
execution semantics and govflow's data rule (docs/designing-processes.md, "Case data") give it.

Every diagram runs three ways, and all three must give its trace and data:
- straight: one workflow object kept in memory from start to end (no save, no reload);
- through the services: every step restores the case from the database and saves it again;
- through the services with a new engine for every step, as after a restart or on another worker: the spec too
  is restored from the database each time.

A case that stops in `error` says where and why (`expect.error`: the element, the error code when an error end
event threw one, and words its message contains); a step that failed leaves nothing behind, so the trace and
the data are those of the steps before it. Through the services the audit trail names the element and the code.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from engine import expressions, workflow, workflow_clock, workflow_parsing
from engine.errors import CaseScriptError
from engine.process_engine import ProcessEngine
from engine.store import Case
from tests.conftest import FIXTURES

DIAGRAMS = Path(__file__).parent / "diagrams"
CASES = sorted(p.stem for p in DIAGRAMS.glob("*.toml"))
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _case(name: str) -> dict:
    return tomllib.loads((DIAGRAMS / f"{name}.toml").read_text(encoding="utf-8"))


class Straight:
    """The case as one CaseWorkflow object in memory."""

    def __init__(self, engine, name: str):
        self.engine = engine
        [self.bundle] = workflow_parsing.parse((DIAGRAMS / f"{name}.bpmn").read_bytes(), f"{name}.bpmn").processes
        self.trace: list[str] = []
        self.failure: workflow.ScriptFailure | None = None
        self.failed_data: dict = {}

    def _step(self, run) -> None:
        """Run one step; a failing one is undone as a transaction would be: its trace and data are not kept."""
        kept, data = len(self.trace), self.flow.current_data()
        try:
            with workflow_clock.clock_context(self.engine.now):
                run()
        except workflow.ScriptFailure as failure:
            del self.trace[kept:]
            self.failure, self.failed_data = failure, data

    def start(self, data: dict) -> None:
        with workflow_clock.clock_context(self.engine.now):
            self.flow = workflow.CaseWorkflow.start(self.bundle, data, self.engine.script_engine())
            self.flow.run_engine_steps(self.trace.append)

    def complete(self, bpmn_id: str, group: str | None, where: dict, data: dict) -> None:
        facts = self.bundle.elements.get(bpmn_id, {})
        sandbox = self.engine.sandbox()
        for task in self.flow.user_tasks():
            groups = [
                _PLACEHOLDER.sub(
                    lambda m, t=task: str(sandbox.evaluate(expressions.inner_to_python(m.group(1)), dict(t.data))), g
                )
                for g in facts.get("candidate_groups") or []
            ]
            if task.bpmn_id == bpmn_id and (group is None or group in groups) and _shows(task, where):
                self._step(lambda task=task: self.flow.complete(task.id, data, self.trace.append))
                return
        raise AssertionError(f"no ready task {bpmn_id} {group or ''}")

    def fire_timers(self) -> None:
        self._step(lambda: self.flow.fire_due_timers(self.trace.append))

    def result(self) -> tuple[str, dict]:
        if self.failure is not None:
            return "error", self.failed_data
        if self.flow.unhandled_error is not None:
            return "error", self.flow.current_data()
        return ("completed" if self.flow.completed else "running"), self.flow.current_data()

    def error(self) -> dict | None:
        failure = self.failure or self.flow.unhandled_error
        if failure is None:
            return None
        return {"element": failure.element_id, "code": getattr(failure, "code", None), "message": failure.message}

    def open_tasks(self) -> list[str]:
        return [task.bpmn_id for task in self.flow.user_tasks()]


class ThroughServices:
    """The case through the platform's services; with `restart`, a new engine (empty spec cache) every step."""

    def __init__(self, engine, clock, name: str, restart: bool):
        self.engine, self.clock, self.name, self.restart = engine, clock, name, restart
        engine.repository.deploy_file(DIAGRAMS / f"{name}.bpmn", "designer")

    def _services(self):
        if not self.restart:
            return self.engine
        return ProcessEngine(self.engine.db, clock=self.clock, forms_dir=FIXTURES / "forms")

    def start(self, data: dict) -> None:
        self.case_id = self._services().runtime.start(self.name, data).id

    def complete(self, bpmn_id: str, group: str | None, where: dict, data: dict) -> None:
        services = self._services()
        shown = self._task_data(services) if where else {}
        for row in services.tasks.query(case_id=self.case_id):
            if row.bpmn_id != bpmn_id or (group is not None and group not in row.candidate_groups):
                continue
            if not where or _shows(shown[row.id], where):
                with contextlib.suppress(CaseScriptError):  # the case is in `error`: result() and error() say why
                    services.tasks.complete(row.id, "officer", data)
                return
        raise AssertionError(f"no open task {bpmn_id} {group or ''}")

    def _task_data(self, services) -> dict:
        """The data of the case's ready tasks as a form would show them, read from the stored state."""
        with services.db.session() as session:
            case = session.get(Case, self.case_id)
            bundle = services.bundle(session, case.process_version_id)
            flow = workflow.CaseWorkflow.load(bundle, case.state, case.serializer_version, services.script_engine())
        return {task.id: task for task in flow.user_tasks()}

    def fire_timers(self) -> None:
        self._services().runtime.fire_timers(self.case_id)

    @property
    def trace(self) -> list[str]:
        events = self.engine.history.trail(self.case_id)
        return [bpmn_id for event in events for bpmn_id in event.payload.get("completed", [])]

    def result(self) -> tuple[str, dict]:
        view = self.engine.runtime.describe(self.case_id)
        assert (view["error"] is None) == (view["status"] != "error")
        return view["status"], view["data"]

    def error(self) -> dict | None:
        view = self.engine.runtime.describe(self.case_id)
        if view["error"] is None:
            return None
        [event] = [e for e in self.engine.history.trail(self.case_id) if e.action == "case_error"]
        assert event.payload["element"] == view["error"]["element"]
        return {"element": view["error"]["element"], "code": event.payload.get("code"),
                "message": view["error"]["message"]}  # fmt: skip

    def open_tasks(self) -> list[str]:
        return [row.bpmn_id for row in self.engine.tasks.query(case_id=self.case_id)]


def _shows(task: workflow.UserTaskView, where: dict) -> bool:
    return all(task.data.get(name) == value for name, value in where.items())


def _walk(run, case: dict, clock) -> None:
    run.start(case.get("start", {}))
    for step in case.get("steps", []):
        if "complete" in step:
            run.complete(step["complete"], step.get("group"), step.get("where", {}), step.get("data", {}))
        elif "advance_minutes" in step:
            clock.advance(timedelta(minutes=step["advance_minutes"]))
            run.fire_timers()
        else:
            raise AssertionError(f"unknown step {step}")


def _expect(run, case: dict) -> tuple[list[str], str, dict, dict | None]:
    status, data = run.result()
    expected = case["expect"]
    assert status == expected["status"]
    assert run.trace == expected["trace"]
    assert data == expected["data"]
    error = run.error()
    if "error" in expected:
        assert error is not None
        assert error["element"] == expected["error"]["element"]
        assert error["code"] == expected["error"].get("code")
        assert expected["error"]["message"] in error["message"]
    else:
        assert error is None
    if "open_tasks" in expected:
        assert sorted(run.open_tasks()) == sorted(expected["open_tasks"])
    return run.trace, status, data, error


@pytest.mark.parametrize("name", CASES)
def test_straight_in_memory(name, engine, clock):
    case = _case(name)
    run = Straight(engine, name)
    _walk(run, case, clock)
    _expect(run, case)


@pytest.mark.parametrize("restart", [False, True], ids=["one_engine", "engine_per_step"])
@pytest.mark.parametrize("name", CASES)
def test_reloaded_every_step_behaves_as_straight(name, restart, engine, clock):
    """The same walk through the services, the case restored from the database at every step, gives the same
    trace and data as the walk that never saved."""
    case = _case(name)
    straight = Straight(engine, name)
    start = clock.now()
    _walk(straight, case, clock)
    clock.set(start)
    reloaded = ThroughServices(engine, clock, name, restart)
    _walk(reloaded, case, clock)
    assert _expect(reloaded, case) == _expect(straight, case)
