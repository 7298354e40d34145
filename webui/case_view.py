"""What the task page and the printed documents show of a case: header, time limits, materials, history."""

from __future__ import annotations

from flask_babel import gettext as _

from engine import stages
from engine.errors import GovflowError

# Audit actions as the case history shows them.
ACTIONS = {
    "case_started": "收件登记",
    "task_claimed": "签收",
    "task_unclaimed": "退回岗位",
    "task_delegated": "转办",
    "task_completed": "办理完成",
    "message_received": "收到",
    "timers_fired": "时限到达",
    "case_suspended": "中止",
    "case_resumed": "恢复",
    "case_terminated": "终止",
    "case_error": "流程出错",
    "case_retried": "重试",
    "limit_extended": "延期",
    "clock_stopped": "暂停计时",
    "clock_resumed": "恢复计时",
    "alert_raised": "发出预警",
    "letter_issued": "发出督办函",
}


def stage_label(stage: str | None) -> str:
    """The name of a stage as recorded (engine.stages), in the page's language."""
    return stages.stage_label(stage, _) if stage else ""


def element_names(engine, process_key: str, version: int) -> dict[str, str]:
    """BPMN element id → its name in the diagram (for the history)."""
    try:
        pv = engine.repository.get(process_key, version)
    except GovflowError:
        return {}
    return {eid: (facts or {}).get("name") or eid for eid, facts in (pv.elements or {}).items()}


def time_limits(engine, case_id: str) -> list[dict]:
    """The case's stage clocks, the whole-case clock first: due dates, colour, clock stops and extension, as
    the time-limits module computes them now (empty when the procedure keeps no clocks)."""
    rows = []
    for status in engine.deadlines.case_limits(case_id).stages:
        s = status.as_json()
        s["label"] = stage_label(status.stage)
        rows.append(s)
    rows.sort(key=lambda s: (s["stage"] != "case", s["started_at"] or ""))
    return rows


def task_badge(engine, task) -> dict | None:
    """The badge of a task (the clock it is due by, on the instants its row keeps): what its inbox line shows."""
    return engine.deadlines.task_badge(task)


def materials(data: dict) -> list[dict]:
    """The materials checklist kept in the case data at acceptance."""
    rows = []
    for m in data.get("materials") or []:
        if isinstance(m, dict):
            rows.append({
                "name": str(m.get("name", "")), "required": bool(m.get("required")),
                "provided": bool(m.get("provided")), "copies": m.get("copies"), "form": m.get("form"),
            })  # fmt: skip
    return rows


def history(engine, trail, names: dict[str, str]) -> list[dict]:
    """The audit trail as readable entries: when, who (and for whom), what, and the opinion given."""
    entries = []
    for e in trail:
        payload = e.payload or {}
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        label = ACTIONS.get(e.action, e.action)
        if e.action == "message_received" and payload.get("message"):
            label = f"{label}「{payload['message']}」"
        entries.append({
            "at": e.at, "actor": e.actor, "on_behalf_of": payload.get("on_behalf_of"), "action": label,
            "element": names.get(e.bpmn_id or "", e.bpmn_id or ""), "opinion": data.get("opinion"),
            "outcome": data.get("outcome") or data.get("decision"), "to": payload.get("to"),
            "reason": payload.get("reason") or payload.get("message")
            or (f"{payload['letter_no']} → {payload.get('addressed_to') or ''}" if payload.get("letter_no") else None),
        })  # fmt: skip
    return entries


def applicant_kind(applicant: dict) -> str:
    return _("法人或其他组织") if (applicant or {}).get("kind") == "organisation" else _("自然人")
