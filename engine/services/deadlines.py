"""Deadline service (`engine.deadlines`): a case's and a stage's colour, due dates and days left for the inbox and
supervision; clock stops and extensions decided by a person (one transaction each, timers re-armed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine import colour, deadlines, policy, task_projection
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

    def fill_task_instants(self) -> int:
        """Give the open tasks kept before their rows had a warning and a statutory due instant the instants of
        the clock they are due by (`task_projection.backfill_instants`); `govflow init` runs it after an
        upgrade. Returns how many rows were filled."""
        with self.engine.db.write_session() as session, session.begin():
            cal = deadlines.calendar_for(self.engine, session)
            return task_projection.backfill_instants(session, cal, self.engine.now(),
                                                     deadlines.policy_of(self.engine))  # fmt: skip

    def badge(self, due_at: datetime | None, at: datetime | None = None) -> dict | None:
        """The badge of a due instant alone ({colour, days_left, provisional, due}): a task's own dueDate."""
        return colour.badge(calendar_for(self.engine), colour.thresholds_for(self.engine, at), due_at)

    def task_badge(self, task, at: datetime | None = None) -> dict | None:
        """The badge of a task row ({colour, days_left, provisional, due}): the colour rule on the instants of the
        clock it is due by, as its row keeps them (the inbox's SQL reads the same columns); None without a due
        instant."""
        return self.task_badges([task], at)[0]

    def task_badges(self, tasks: Sequence, at: datetime | None = None) -> list[dict | None]:
        """The badges of several task rows (`task_badge`), on one calendar and one set of thresholds."""
        cal = calendar_for(self.engine)
        thresholds = colour.thresholds(cal, at or self.engine.now(), deadlines.policy_of(self.engine))
        return [colour.badge(cal, thresholds, t.due_at, t.warn_at, t.statutory_due_at, t.stopped_at, t.stopped_colour)
                for t in tasks]  # fmt: skip

    def colours(self, case_ids: Sequence[str], at: datetime | None = None) -> dict[str, str | None]:
        """case id → colour (None when the case has no limit)."""
        return {cid: limits.colour for cid, limits in self.many(case_ids, at).items()}

    # -- decisions (`who`: a person's Actor, whose rights the permission policy checks on the locked case;
    # `override`: an operator's override instead, recorded in the event)
    def _authorise(self, ctx: StepContext, who, action: str, override: policy.Override | None) -> dict:
        if who is not None and override is None:
            policy.require(policy.subject(self.engine, who), action, policy.case_target(ctx.case))
        return policy.override_payload(override)

    def stop_clock(self, case_id: str, reason: str, *, basis: str | None = None, actor: str, who=None,
                   override: policy.Override | None = None) -> None:  # fmt: skip
        """Stop every running clock of the case (hearing, testing, expert review ...); a reason is required."""

        def apply(ctx: StepContext):
            extra = self._authorise(ctx, who, "stop_clock", override)
            row = StepClocks.of(ctx).stop(reason, basis)
            return {"reason": row.reason, "basis": row.basis, **extra}

        run_step(self.engine, case_id, actor, "clock_stopped", apply)

    def resume_clock(self, case_id: str, *, actor: str, who=None, override: policy.Override | None = None) -> None:
        """Let the case's clocks run again."""

        def apply(ctx: StepContext):
            extra = self._authorise(ctx, who, "resume_clock", override)
            if not StepClocks.of(ctx).resume():
                raise InvalidData(f"the clocks of case {ctx.case.receipt_no} are not stopped")
            return extra

        run_step(self.engine, case_id, actor, "clock_resumed", apply)

    def extend(self, case_id: str, stage: str, by: str, *, basis: str, approved_by: str, actor: str, who=None,
               override: policy.Override | None = None) -> StageStatus:  # fmt: skip
        """The one lawful extension of a stage's limit (refused beyond the legal maximum, citing the article)."""
        result: list[StageStatus] = []

        def apply(ctx: StepContext):
            extra = self._authorise(ctx, who, "extend", override)
            clocks = StepClocks.of(ctx)
            row = clocks.extend(stage, by, basis, approved_by)
            result.append(clocks.status(stage))
            return {"stage": stage, "by": row.extension, "basis": row.extension_basis, "approved_by": approved_by,
                    **extra}  # fmt: skip

        run_step(self.engine, case_id, actor, "limit_extended", apply)
        return result[0]
