"""The process engine: one object that holds the database, the clock, the spec cache, the services and the
configuration of the case step's pipeline."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from engine import (
    correlation,
    scheduler,
    stage_clocks,
    statistics_rollup,
    step,
    supervision_index,
    timekeeping,
    workflow,
)
from engine.attachments import AttachmentStore
from engine.case_data import CASE_DATA_LIMIT
from engine.catalog import CatalogService
from engine.clock import SystemClock
from engine.errors import NotFound
from engine.forms import FormLibrary
from engine.identity import IdentityService
from engine.sandbox import Sandbox
from engine.services.calendar import CalendarService
from engine.services.deadlines import DeadlineService
from engine.services.history import HistoryService
from engine.services.messaging import MessagingService
from engine.services.repository import RepositoryService
from engine.services.runtime import RuntimeService
from engine.services.saved_filters import SavedFilterService
from engine.services.supervision import SupervisionService
from engine.services.tasks import TaskService
from engine.step import Phase, Pipeline
from engine.store import Database, ProcessVersion
from engine.task_projection import TaskProjection

SPEC_CACHE_SIZE = 256


class ProcessEngine:
    """Repository, runtime, task and history services over one database (Camunda's shape, not its size)."""

    def __init__(
        self,
        database: Database | str | None = None,
        *,
        clock=None,
        forms_dir: Path | str | None = "forms",
        helpers: dict[str, Callable] | None = None,
        script_time_budget: float = 1.0,
        case_data_limit: int | None = None,
    ):
        self.db = database if isinstance(database, Database) else Database(database)
        self.clock = clock or SystemClock()
        self.forms_dir = Path(forms_dir) if forms_dir is not None else None
        self.helpers: dict[str, Callable] = dict(helpers or {})
        self.script_time_budget = script_time_budget
        # Bytes of a case's variables (as JSON) a step may leave; over it the step fails as a case error.
        self.case_data_limit = case_data_limit or int(os.environ.get("GOVFLOW_CASE_DATA_LIMIT") or CASE_DATA_LIMIT)
        self._bundles: OrderedDict[int, workflow.ProcessBundle] = OrderedDict()
        self._bundles_lock = threading.Lock()
        self.pipeline = self._declare_pipeline()
        self.repository = RepositoryService(self)
        self.runtime = RuntimeService(self)
        self.messaging = MessagingService(self)  # messages and signals between cases
        self.tasks = TaskService(self)
        self.history = HistoryService(self)
        self.saved_filters = SavedFilterService(self)
        self.calendar = CalendarService(self)
        self._attach_time_limits()
        self.catalog = CatalogService(self)  # the service-item catalog (issue #4)
        self.supervision = SupervisionService(self)  # 电子监察: cases in scope, alerts, actions, figures
        self._attach_identity()

    @staticmethod
    def _declare_pipeline() -> Pipeline:
        """The phases of every case step, in the order they run (engine/step.py frames them with load & lock,
        apply and commit; docs/architecture.md says what each writes). The audit event comes before the
        supervision row and the procedure rules, which read it (电子监察)."""
        return Pipeline(
            [
                Phase("timers: the next timer before the step", scheduler.before_save, flow=True),
                Phase("stage clocks", stage_clocks.before_save, flow=True),
                Phase("messages and signals: waits and outbox", correlation.before_save, flow=True),
                Phase("state", step.save_state, flow=True),
                Phase("tasks", TaskProjection(due_by_stage=stage_clocks.task_due), flow=True),
                Phase("timers: wake the workers", scheduler.after_save, flow=True),
                Phase("audit", step.append_audit),
                Phase("supervision row and procedure rules", _supervision),
            ],
            [Phase("statistics roll-up", statistics_rollup.write)],
        )

    def _attach_identity(self) -> None:
        """Identity, task forms and the case file store (issue #5)."""
        self.identity = IdentityService(self)
        self.forms = FormLibrary(self.forms_dir)
        files = os.environ.get("GOVFLOW_FILES_DIR") or Path("var") / "files"
        self.attachments = AttachmentStore(files, self.db, clock=self.clock)

    def _attach_time_limits(self) -> None:
        """Deadlines and the time-limit script functions (issue #3)."""
        self.deadlines = DeadlineService(self)
        for name, function in timekeeping.script_functions(self).items():
            self.helpers.setdefault(name, function)  # helpers given by the caller win
        self.timer_scheduler = None  # set while a TimerScheduler runs in this process
        self.colour_policy = None  # engine.deadlines.ColourPolicy; None = 2 working days / 80 %

    def now(self):
        return self.clock.now()

    def script_engine(self, extra_helpers: dict[str, Callable] | None = None):
        """A script engine whose sandbox offers the vetted helpers (calendar, catalog ...)."""
        helpers = {**self.helpers, **extra_helpers} if extra_helpers else self.helpers
        return workflow.script_engine(Sandbox(helpers=helpers, time_budget=self.script_time_budget))

    def sandbox(self) -> Sandbox:
        return Sandbox(helpers=self.helpers, time_budget=self.script_time_budget)

    def bundle(self, session, version_id: int) -> workflow.ProcessBundle:
        """The parsed spec of a process version, restored once and cached (versions are immutable)."""
        with self._bundles_lock:
            cached = self._bundles.get(version_id)
            if cached is not None:
                self._bundles.move_to_end(version_id)
                return cached
        pv = session.get(ProcessVersion, version_id)
        if pv is None:
            raise NotFound(f"process version {version_id} does not exist")
        bundle = workflow.load_spec(pv.key, pv.name, pv.dialect, pv.spec, pv.elements)
        with self._bundles_lock:
            self._bundles[version_id] = bundle
            while len(self._bundles) > SPEC_CACHE_SIZE:
                self._bundles.popitem(last=False)
        return bundle

    def close(self) -> None:
        self.db.dispose()


def _supervision(ctx: step.StepContext) -> None:
    """The supervision phase: the case's supervision row and the procedure rules, on the step's audit event."""
    supervision_index.on_event(ctx.engine, ctx.session, ctx.case, ctx.event, ctx)
