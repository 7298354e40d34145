"""电子监察 as a service on the engine facade: the supervisor's scoped view of cases, the alerts board, the
supervisor's actions on cases and tasks, the performance figures, the replay and the rebuild of the projection.

The web pages, the JSON API and the CLI ask `engine.supervision`; it asks the areas that hold each rule
(engine/supervision.py, engine/alerts_board.py, engine/supervision_actions.py, engine/statistics.py,
engine/replay.py, engine/process_activity.py, engine/supervision_index.py). The actions run as case steps through
the pipeline (engine/step.py) and are decided by the permission policy (engine/policy.py).
"""

from __future__ import annotations

from datetime import date, datetime

from engine import alerts_board, replay, statistics, supervision, supervision_actions, supervision_index
from engine.alerts_board import AlertFilter
from engine.process_activity import activity_counts
from engine.supervision import CaseFilter, Scope

# The supervisor's actions on a case, by name (the web's and the CLI's buttons and commands).
CASE_ACTIONS = ("suspend", "resume", "terminate", "retry")


class SupervisionService:
    """What supervisors (and the department leaders reading figures) do, for the engine it belongs to."""

    def __init__(self, engine):
        self._engine = engine

    # --- the view of cases -------------------------------------------------------------------------------------

    def scope(self, user, action: str = "supervise") -> Scope:
        """The departments `user` may supervise (or, with `action`, read statistics of)."""
        return supervision.scope_of(self._engine, user, action)

    def reach(self, user) -> Scope:
        """The cases `user` may find by their facts (办件查询, any member of staff): `policy.case_reach`."""
        return supervision.reach_of(self._engine, user)

    def cases(self, scope: Scope, f: CaseFilter) -> supervision.CaseList:
        return supervision.list_cases(self._engine, scope, f)

    def stage_keys(self, text: str, translate=None) -> list[str]:
        """The stages a person names by `text` (in Chinese, or in the language `translate` gives the names in)."""
        return supervision.stage_keys(self._engine, text, translate)

    def export_csv(self, scope: Scope, f: CaseFilter):
        return supervision.export_csv(self._engine, scope, f)

    def case(self, scope: Scope, case_ref: str):
        """The supervision row of a case in scope, by id or receipt number (NotFound otherwise)."""
        return supervision.get_case(self._engine, scope, case_ref)

    def colour(self, row) -> str | None:
        return supervision.case_colour(self._engine, row)

    def activity(self, scope: Scope, key: str, version: int | None = None) -> dict:
        return activity_counts(self._engine, scope, key, version)

    def replay(self, case_id: str) -> list[replay.Frame]:
        return replay.replay(self._engine, case_id)

    def current_state(self, case_id: str, now: datetime | None = None) -> dict:
        return replay.current_state(self._engine, case_id, now)

    def rebuild(self) -> int:
        """Rebuild every supervision row and the statistics roll-up from the cases (after an upgrade, a restore)."""
        return supervision_index.rebuild(self._engine)

    # --- actions on cases and tasks ----------------------------------------------------------------------------

    def act(self, action: str, user, case_ref: str, reason: str):
        """Suspend, resume, terminate or retry a case, with the reason the audit trail records."""
        if action not in CASE_ACTIONS:
            raise ValueError(f"{action!r} is not a supervisor's action on a case; they are {', '.join(CASE_ACTIONS)}")
        return getattr(supervision_actions, action)(self._engine, user, case_ref, reason)

    def reassign(self, user, task_id: str, to_user: str, reason: str):
        return supervision_actions.reassign(self._engine, user, task_id, to_user, reason)

    # --- the alerts board --------------------------------------------------------------------------------------

    def alerts(self, scope: Scope, f: AlertFilter = AlertFilter()) -> list[dict]:
        return alerts_board.list_alerts(self._engine, scope, f)

    def alert_page(self, scope: Scope, f: AlertFilter = AlertFilter()) -> alerts_board.AlertPage:
        """One page of the board and the number of alerts matching the filter."""
        return alerts_board.alert_page(self._engine, scope, f)

    def acknowledge(self, user, alert_id: int, note: str) -> dict:
        return alerts_board.acknowledge(self._engine, user, alert_id, note)

    def acknowledge_all(self, user, alert_ids, note: str) -> dict:
        """Acknowledge several alerts with one note (each recorded as a single acknowledgement is)."""
        return alerts_board.acknowledge_all(self._engine, user, alert_ids, note)

    def issue_letter(self, user, alert_id: int, department: str, reply_workdays: int, note: str) -> dict:
        return alerts_board.issue_letter(self._engine, user, alert_id, department, reply_workdays, note)

    def record_accountability(self, user, **record) -> dict:
        return alerts_board.record_accountability(self._engine, user, **record)

    def accountability_records(self, scope: Scope, limit: int = 200) -> list[dict]:
        return alerts_board.accountability_records(self._engine, scope, limit)

    # --- the figures (绩效统计) -----------------------------------------------------------------------------------

    def figures(self, scope: Scope, by: str, start: date, end: date) -> list[statistics.Figures]:
        return statistics.figures(self._engine, scope, by, start, end)

    def monthly_volume(self, scope: Scope, start: date, end: date) -> list[tuple[str, int, int]]:
        return statistics.monthly_volume(self._engine, scope, start, end)

    def ranking(self, scope: Scope, by: str, year: int, quarter: int, *, minimum: int = 1):
        return statistics.ranking(self._engine, scope, by, year, quarter, minimum=minimum)
