"""Stage clocks inside a case step: started and ended by the diagram, stopped by clock-stop activities, extended.

Element properties (camunda:properties) drive them: an activity with `stage` runs that stage's clock while it is
active (a multi-instance child: `stage:<element variable>`), one with `clock_stop` stops every running clock of
the case while it is active. Scripts do the same with `start_limit` / `end_limit` / `extend_limit`. Limits come
from the case data key `limits` (the catalog item) first, then from the element or the script. Rows are written
through the step's own session, so they commit or roll back with the step. When a limit moves (a stop starts or
ends, an extension) the waiting date timers are evaluated again so they fire at the moved time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from engine import deadlines, extensions, workflow
from engine.deadlines import CLOCK_STOP_REASONS, ClockFacts, DueInstants, Interval, Limit, StageStatus
from engine.errors import InvalidData
from engine.store import ClockStop, StageClock

EFFECTS_KEY = "time_limits"


def timed_elements(bundle) -> dict[str, dict]:
    """The elements of a process that carry `stage` or `clock_stop` properties (cached on the bundle)."""
    cached = getattr(bundle, "_timed_elements", None)
    if cached is None:
        cached = {
            bpmn_id: dict(facts["properties"])
            for bpmn_id, facts in (bundle.elements or {}).items()
            if isinstance(facts.get("properties"), dict)
            and ("stage" in facts["properties"] or "clock_stop" in facts["properties"])
        }
        bundle._timed_elements = cached
    return cached


# A case's clocks and clock stops in the order they started (built once, bound at execution).
_CLOCKS_OF = select(StageClock).where(StageClock.case_id == bindparam("case_id")).order_by(StageClock.id)
_STOPS_OF = select(ClockStop).where(ClockStop.case_id == bindparam("case_id")).order_by(ClockStop.id)


class StepClocks:
    """The clocks and clock stops of the case of one step, loaded once and changed through the step's session."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.moved = False  # a due date moved: re-arm the date timers before saving
        self._clocks: dict[str, StageClock] | None = None
        self._rows: list[StageClock] = []  # every clock row of the case (restarted stages too), in id order
        self._stops: list[ClockStop] | None = None

    @classmethod
    def of(cls, ctx) -> StepClocks:
        clocks = ctx.effects.get(EFFECTS_KEY)
        if clocks is None:
            clocks = ctx.effects[EFFECTS_KEY] = cls(ctx)
        return clocks

    @classmethod
    def prefilled(cls, ctx, rows: list[StageClock], stops: list[ClockStop]) -> StepClocks:
        """The step's clocks from rows the caller already read (every clock and stop of the case, in id order)."""
        clocks = cls(ctx)
        clocks._rows, clocks._stops = list(rows), list(stops)
        clocks._clocks = {row.stage: row for row in clocks._rows}
        return clocks

    # -- loading
    @property
    def clocks(self) -> dict[str, StageClock]:
        """The latest clock of each stage of the case."""
        if self._clocks is None:
            self._rows = list(self.ctx.session.scalars(_CLOCKS_OF, {"case_id": self.ctx.case.id}))
            self._clocks = {row.stage: row for row in self._rows}
        return self._clocks

    @property
    def rows(self) -> list[StageClock]:
        """Every clock row of the case, a restarted stage's earlier runs included (in the order they started)."""
        self.clocks  # noqa: B018 - loads them
        return self._rows

    @property
    def stops(self) -> list[ClockStop]:
        if self._stops is None:
            self._stops = list(self.ctx.session.scalars(_STOPS_OF, {"case_id": self.ctx.case.id}))
        return self._stops

    def open_stops(self) -> list[ClockStop]:
        return [s for s in self.stops if s.ended_at is None]

    # -- limits
    def _limits_entry(self, stage: str) -> dict:
        data = self.ctx.flow.current_data() if self.ctx.flow is not None else (self.ctx.case.data or {})
        limits = data.get("limits") or {}
        if not isinstance(limits, dict):
            raise InvalidData(f"case data 'limits' must be an object of stage → limits, got {type(limits).__name__}")
        entry = limits.get(stage) or limits.get(stage.split(":", 1)[0]) or {}
        if not isinstance(entry, dict):
            raise InvalidData(f"case data 'limits.{stage}' must be an object like {{'statutory': '20wd'}}")
        return entry

    def resolve(self, stage: str, statutory=None, promised=None, basis=None) -> tuple[Limit | None, Limit | None, str]:
        """The stage's limits: the case data `limits` first, then the given defaults; checked."""
        entry = self._limits_entry(stage)
        statutory = Limit.optional(entry.get("statutory", statutory), f"statutory limit of stage '{stage}'")
        promised = Limit.optional(entry.get("promised", promised), f"promised limit of stage '{stage}'")
        if statutory and promised and statutory.unit == promised.unit and promised.n > statutory.n:
            raise InvalidData(f"stage '{stage}': promised limit {promised} is longer than the statutory {statutory}")
        return statutory, promised, entry.get("basis", basis)

    # -- changes
    def start(self, stage: str, element: str | None = None, statutory=None, promised=None, basis=None) -> StageClock:
        """Start the stage's clock now; a clock already running is kept as it is."""
        if not isinstance(stage, str) or not stage.strip():
            raise InvalidData("a stage clock needs a stage code, e.g. 'review'")
        current = self.clocks.get(stage)
        if current is not None and current.ended_at is None:
            return current
        statutory, promised, basis = self.resolve(stage, statutory, promised, basis)
        row = StageClock(
            case_id=self.ctx.case.id, stage=stage, element=element, statutory=str(statutory) if statutory else None,
            promised=str(promised) if promised else None, basis=basis, started_at=self.ctx.now,
        )  # fmt: skip
        self.ctx.session.add(row)
        self.clocks[stage] = row
        self._rows.append(row)
        return row

    def end(self, stage: str) -> None:
        row = self.clocks.get(stage)
        if row is not None and row.ended_at is None:
            row.ended_at = self.ctx.now

    def stop(self, reason: str | None, basis: str | None = None, element: str | None = None) -> ClockStop:
        """Stop every running clock of the case; refused without a known reason."""
        if not reason:
            raise InvalidData(f"a clock stop needs a reason (one of: {', '.join(CLOCK_STOP_REASONS)})")
        if reason not in CLOCK_STOP_REASONS:
            raise InvalidData(
                f"clock stop reason '{reason}' is not one the law allows: {', '.join(CLOCK_STOP_REASONS)}"
            )
        row = ClockStop(
            case_id=self.ctx.case.id, reason=reason, basis=basis or CLOCK_STOP_REASONS[reason], element=element,
            started_at=self.ctx.now, started_by=self.ctx.actor,
        )  # fmt: skip
        self.ctx.session.add(row)
        self.stops.append(row)
        self.moved = True
        return row

    def resume(self, element: str | None = None) -> int:
        """End the running stops (of one element, or all); returns how many ended."""
        ended = 0
        for row in self.open_stops():
            if element is None or row.element == element:
                row.ended_at, row.ended_by = self.ctx.now, self.ctx.actor
                ended += 1
        self.moved = self.moved or ended > 0
        return ended

    def extend(self, stage: str, by: str, basis: str, approved_by: str) -> StageClock:
        """The one lawful extension of a stage's limits (both the statutory and the promised due date move)."""
        if not basis or not str(basis).strip():
            raise InvalidData("an extension needs its legal basis, e.g. '行政许可法第42条'")
        if not approved_by or not str(approved_by).strip():
            raise InvalidData("an extension needs the approver (the agency head, 行政许可法第42条)")
        row = self.clock(stage)
        amount = Limit.parse(by, "extension")
        extensions.check_extension(
            Limit.optional(row.statutory), row.extension, amount, self._limits_entry(stage).get("extension_rule")
        )
        row.extension, row.extension_basis = str(amount), str(basis).strip()
        row.extension_approved_by, row.extended_at = str(approved_by).strip(), self.ctx.now
        self.moved = True
        return row

    # -- reading
    def clock(self, stage: str) -> StageClock:
        self.sync()
        row = self.clocks.get(stage)
        if row is None:
            raise InvalidData(
                f"stage '{stage}' has no clock: start it with start_limit('{stage}', ...) or a `stage` property"
            )
        return row

    def status(self, stage: str, at: datetime | None = None) -> StageStatus:
        row = self.clock(stage)
        stops = [Interval(s.started_at, s.ended_at) for s in self.stops]
        engine = self.ctx.engine
        cal = deadlines.calendar_for(engine, self.ctx.session)
        return deadlines.stage_status(cal, ClockFacts.of(row), stops, at or self.ctx.now, deadlines.policy_of(engine))

    def task_instants(self, stage: str) -> DueInstants | None:
        """What a task due by this stage's clock keeps on its row now (`deadlines.task_instants`)."""
        stops = [Interval(s.started_at, s.ended_at) for s in self.stops]
        engine = self.ctx.engine
        cal = deadlines.calendar_for(engine, self.ctx.session)
        return deadlines.task_instants(cal, ClockFacts.of(self.clock(stage)), stops, self.ctx.now,
                                       deadlines.policy_of(engine))  # fmt: skip

    # -- following the diagram
    def sync(self) -> None:
        """Start and end element clocks and stops so they match the activities active now."""
        flow = self.ctx.flow
        timed = timed_elements(flow.bundle) if flow is not None else {}
        if not timed:
            return
        want_clocks: dict[str, tuple[str, dict]] = {}
        want_stops: dict[str, dict] = {}
        for bpmn_id, instance in flow.active_instances(frozenset(timed)):
            props = timed[bpmn_id]
            if props.get("stage"):
                key = props["stage"] if instance is None else f"{props['stage']}:{instance}"
                want_clocks[key] = (bpmn_id, props)
            if "clock_stop" in props:
                want_stops[bpmn_id] = props
        for key, (bpmn_id, props) in want_clocks.items():
            try:
                self.start(key, bpmn_id, props.get("statutory_limit"), props.get("promised_limit"),
                           props.get("limit_basis"))  # fmt: skip
            except InvalidData as exc:
                raise workflow.ScriptFailure(bpmn_id, str(exc)) from None
        for key, row in self.clocks.items():
            if row.element is not None and row.ended_at is None and key not in want_clocks:
                row.ended_at = self.ctx.now
        stopped = {s.element for s in self.open_stops() if s.element}
        for bpmn_id, props in want_stops.items():
            if bpmn_id not in stopped:
                try:
                    self.stop(props.get("clock_stop"), props.get("clock_stop_basis"), bpmn_id)
                except InvalidData as exc:
                    raise workflow.ScriptFailure(bpmn_id, str(exc)) from None
        for element in stopped - set(want_stops):
            self.resume(element)


def before_save(ctx) -> None:
    """Save hook: follow the diagram, then re-arm the date timers if a due date moved in this step."""
    if ctx.flow is None:
        return
    clocks = ctx.effects.get(EFFECTS_KEY)
    if clocks is None:
        if not timed_elements(ctx.flow.bundle):
            return  # nothing in this process is timed: no query
        clocks = StepClocks.of(ctx)
    clocks.sync()
    if clocks.moved:
        ctx.flow.rearm_timers()
        clocks.moved = False


def task_due(ctx, bpmn_id: str, data: dict) -> DueInstants | None:
    """The instants of the clock a user task is due by (`deadlines.task_clock`: its element's stage clock, else
    the whole-case clock): promised due, warning and statutory due; None when no such clock runs."""
    if ctx.flow is None or (not timed_elements(ctx.flow.bundle) and EFFECTS_KEY not in ctx.effects):
        return None  # nothing in this process is timed and no clock was started by a script: no query
    clocks = StepClocks.of(ctx)
    clock = deadlines.task_clock(clocks.clocks.values(), bpmn_id, data)
    return None if clock is None else clocks.task_instants(clock.stage)
