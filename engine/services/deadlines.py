"""Deadline service (`engine.deadlines`): a case's and a stage's colour, due dates and days left for the inbox and
supervision; clock stops and extensions decided by a person (one transaction each, timers re-armed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine import colour, deadlines
from engine.calendar import calendar_for
from engine.deadlines import CaseLimits, StageStatus
from engine.errors import InvalidData, NotFound
from engine.stage_clocks import StepClocks
from engine.step import StepContext, run_step


class DeadlineService:
    def __init__(self, engine):
        self.engine = engine

    # -- reading
    def case_limits(self, case_id: str, at: datetime | None = None) -> CaseLimits:
        """Every stage clock of a case: colour, promised/statutory due instants, working days left, provisional
        flag, clock stops and extension. `colour` is the `case` clock's, else the worst running stage's."""
        return self.many([case_id], at)[case_id]

    def stage(self, case_id: str, stage: str = "case", at: datetime | None = None) -> StageStatus:
        """One stage clock of a case (NotFound when the case has no clock for that stage)."""
        found = self.case_limits(case_id, at).stage(stage)
        if found is None:
            raise NotFound(f"case {case_id} has no clock for stage '{stage}'")
        return found

    def many(self, case_ids: Sequence[str], at: datetime | None = None) -> dict[str, CaseLimits]:
        """The limits of several cases in two queries (an inbox page)."""
        now = at or self.engine.now()
        policy = deadlines.policy_of(self.engine)
        with self.engine.db.session() as session:
            stored = deadlines.stored_clocks(session, list(case_ids))
            cal = deadlines.calendar_for(self.engine, session)
        return {
            cid: deadlines.limits_of(cal, cid, clocks, stops, now, policy) for cid, (clocks, stops) in stored.items()
        }

    def badge(self, due_at: datetime | None, at: datetime | None = None) -> dict | None:
        """The badge of a task's due instant ({colour, days_left, provisional, due}), as the inbox shows it."""
        return colour.badge(calendar_for(self.engine), colour.thresholds_for(self.engine, at), due_at)

    def task_badges(self, tasks: Sequence[tuple[str, str]], at: datetime | None = None) -> dict[tuple[str, str], dict]:
        """(case id, BPMN element id) → the badge of the clock such a task is due by (`deadlines.task_clock`), for
        task rows that carry no due instant yet; pairs whose case runs no such clock are left out."""
        case_ids = sorted({case_id for case_id, _ in tasks})
        if not case_ids:
            return {}
        now, policy = at or self.engine.now(), deadlines.policy_of(self.engine)
        with self.engine.db.session() as session:
            stored = deadlines.stored_clocks(session, case_ids)
            cal = calendar_for(self.engine, session)
        thresholds = colour.thresholds(cal, now, policy)
        found = {}
        for case_id, bpmn_id in tasks:
            clocks, stops = stored.get(case_id, ([], []))
            clock = deadlines.task_clock(clocks, bpmn_id)
            if clock is not None:
                due = deadlines.stage_status(cal, clock, stops, now, policy).promised_due
                found[(case_id, bpmn_id)] = colour.badge(cal, thresholds, due)
        return {key: value for key, value in found.items() if value is not None}

    def colours(self, case_ids: Sequence[str], at: datetime | None = None) -> dict[str, str | None]:
        """case id → colour (None when the case has no limit)."""
        return {cid: limits.colour for cid, limits in self.many(case_ids, at).items()}

    # -- decisions
    def stop_clock(self, case_id: str, reason: str, *, basis: str | None = None, actor: str) -> None:
        """Stop every running clock of the case (hearing, testing, expert review ...); a reason is required."""

        def apply(ctx: StepContext):
            row = StepClocks.of(ctx).stop(reason, basis)
            return {"reason": row.reason, "basis": row.basis}

        run_step(self.engine, case_id, actor, "clock_stopped", apply)

    def resume_clock(self, case_id: str, *, actor: str) -> None:
        """Let the case's clocks run again."""

        def apply(ctx: StepContext):
            if not StepClocks.of(ctx).resume():
                raise InvalidData(f"the clocks of case {ctx.case.receipt_no} are not stopped")
            return {}

        run_step(self.engine, case_id, actor, "clock_resumed", apply)

    def extend(self, case_id: str, stage: str, by: str, *, basis: str, approved_by: str, actor: str) -> StageStatus:
        """The one lawful extension of a stage's limit (refused beyond the legal maximum, citing the article)."""
        result: list[StageStatus] = []

        def apply(ctx: StepContext):
            clocks = StepClocks.of(ctx)
            row = clocks.extend(stage, by, basis, approved_by)
            result.append(clocks.status(stage))
            return {"stage": stage, "by": row.extension, "basis": row.extension_basis, "approved_by": approved_by}

        run_step(self.engine, case_id, actor, "limit_extended", apply)
        return result[0]
