"""Which alerts are open: those not acknowledged. One definition for the alerts board, the statistics roll-up and
its rebuild (below all three: it reads the alert tables only)."""

from __future__ import annotations

from sqlalchemy import exists, not_

from engine.store.supervision import AlertAction
from engine.store.time_limits import SupervisionAlert


def open_alert_condition():
    """SQL: the alert has not been acknowledged."""
    acknowledged = exists().where(AlertAction.alert_id == SupervisionAlert.id, AlertAction.kind == "acknowledge")
    return not_(acknowledged)
