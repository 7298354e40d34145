"""What the task page and the printed documents show of a case: header, time limits, materials, history."""

from __future__ import annotations

import re

from flask import current_app, g, has_request_context
from flask_babel import gettext as _

from engine import stages
from engine.alerts_board import FAULT_KINDS, MEASURES, TIME_KINDS
from engine.deadlines import CLOCK_STOP_REASONS
from engine.errors import GovflowError
from engine.rules import RULES
from engine.store.identity import ROLES


def N_(message: str) -> str:
    """Marks a name for the message catalog's extraction; the page translates it when it shows it."""
    return message


# The one home of the web's names for the engine's codes: what a person reads for a case status, a task state,
# an audit event and the engine's own actors. Stage names are engine.stages'; role, alert, fault and measure
# names are the engine's (engine.store.identity.ROLES, engine.alerts_board, engine.rules) and are translated here.
CASE_STATUSES = {
    "running": N_("办理中"),
    "suspended": N_("已挂起"),
    "error": N_("出错"),
    "completed": N_("已办结"),
    "terminated": N_("已终止"),
}
TASK_STATES = {"open": N_("待办理"), "completed": N_("已完成"), "cancelled": N_("已取消")}
ACTIONS = {
    "case_started": N_("收件登记"),
    "task_claimed": N_("签收"),
    "task_unclaimed": N_("放回岗位"),
    "task_delegated": N_("转办"),
    "task_completed": N_("办理完成"),
    "message_received": N_("收到"),
    "signal_received": N_("收到信号"),
    "timers_fired": N_("时限到达"),
    "case_suspended": N_("已挂起"),
    "case_resumed": N_("已恢复"),
    "case_terminated": N_("已终止"),
    "case_error": N_("流程出错"),
    "case_retried": N_("已重试"),
    "limit_extended": N_("延期"),
    "clock_stopped": N_("暂停计时"),
    "clock_resumed": N_("恢复计时"),
    "alert_raised": N_("发出预警"),
    "letter_issued": N_("发出督办函"),
}
# The supervisor's actions on a case (engine.services.supervision.CASE_ACTIONS), as its buttons name them.
CASE_ACTIONS = {"suspend": N_("挂起"), "resume": N_("恢复"), "terminate": N_("终止"), "retry": N_("重试")}
# Who did it, when no person did: the engine's own actors in the audit trail.
SYSTEM_ACTORS = {
    "scheduler": N_("系统（时限计时）"),
    "supervision": N_("电子监察系统"),
    "system": N_("系统"),
    "demo": N_("系统（示范数据）"),
}
# Names the engine keeps in Chinese, translated by the page (each has its English in the web's catalog).
ENGINE_NAMES = (
    *stages.STAGE_NAMES.values(), *ROLES.values(), *TIME_KINDS.values(), *FAULT_KINDS.values(), *MEASURES.values(),
    *CLOCK_STOP_REASONS.values(), *(rule.title for rule in RULES.values()),
)  # fmt: skip
_GROUP = re.compile(r"^([a-z][a-z0-9_-]*)@([^@\s]+)$")


def _named(table: dict[str, str], code: str | None) -> str:
    return _(table[code]) if code in table else (code or "")


def status_label(status: str | None) -> str:
    """A case's status (running, completed …) in the page's language."""
    return _named(CASE_STATUSES, status)


def task_state_label(state: str | None) -> str:
    return _named(TASK_STATES, state)


def action_label(action: str | None) -> str:
    """An audit event (task_claimed …) or a supervisor's action (suspend …) in the page's language."""
    return _named(ACTIONS, action) if action in ACTIONS else _named(CASE_ACTIONS, action)


def clock_stop_label(reason: str | None) -> str:
    """Why a clock stood still (engine.deadlines' reasons), in the page's language."""
    return _named(CLOCK_STOP_REASONS, reason)


def engine_name(name: str | None) -> str:
    """A name the engine gives in Chinese (a role, an alert kind, a rule's title …) in the page's language."""
    return _(name) if name else ""


def _directory() -> dict:
    """People, departments and roles by code, read once per request."""
    cached = g.get("govflow_names") if has_request_context() else None
    if cached is None:
        identity = current_app.extensions["govflow"].identity  # the app's engine (webui.context reads it so too)
        cached = {
            "people": identity.display_names(),
            "departments": {d.code: d.name for d in identity.departments()},
            "roles": {r.code: r.name for r in identity.roles()},
        }
        if has_request_context():
            g.govflow_names = cached
    return cached


def department_name(code: str | None) -> str:
    """A department by its name (the code only for a department nobody recorded)."""
    return _directory()["departments"].get(code or "", code or "")


def role_name(code: str | None) -> str:
    """A role by its name: a built-in role's in the page's language, a designer's as recorded."""
    if code in ROLES:
        return _(ROLES[code])
    return _directory()["roles"].get(code or "", code or "")


def person(who: str | None) -> str:
    """Whoever is named in a record, as a person reads it: a user by display name, a group `role@department` by
    its role and department names, one of the engine's own actors by what it is."""
    if not who:
        return ""
    people = _directory()["people"]
    if who in people:
        return people[who]
    group = _GROUP.match(who)
    if group:
        return _("%(department)s%(role)s", role=role_name(group[1]), department=department_name(group[2]))
    if who in SYSTEM_ACTORS:
        return _(SYSTEM_ACTORS[who])
    return department_name(who)


def people(names) -> str:
    """Several people or groups, named in turn."""
    return "、".join(person(n) for n in names or () if n)


def stage_label(stage: str | None, elements: dict[str, str] | None = None) -> str:
    """The name of a stage as recorded (engine.stages), in the page's language; a stage run per department names
    the department; an activity recorded in place of a stage is named by `elements` (element id → name)."""
    if not stage:
        return ""
    element_name = (lambda bpmn_id: elements.get(bpmn_id, bpmn_id)) if elements is not None else None
    return stages.stage_label(stage, _, instance_name=department_name, element_name=element_name)


def _elements(engine, process_key: str, version: int) -> dict[str, dict]:
    try:
        return engine.repository.get(process_key, version).elements or {}
    except GovflowError:
        return {}


def element_names(engine, process_key: str, version: int) -> dict[str, str]:
    """BPMN element id → its name in the diagram (for the history)."""
    return {eid: (facts or {}).get("name") or eid for eid, facts in _elements(engine, process_key, version).items()}


def process_element_names(engine, process_keys) -> dict[str, str]:
    """Element id → name over every version of these processes (for lists of cases of several procedures)."""
    wanted = set(process_keys)
    names: dict[str, str] = {}
    for pv in engine.repository.list(latest_only=False):
        if pv.key in wanted:
            names.update({eid: (f or {}).get("name") or eid for eid, f in (pv.elements or {}).items()})
    return names


def choice_titles(engine, process_key: str, version: int) -> dict[str, dict[str, dict]]:
    """Element id → {field name → {value → title}} of its form's choices: how a recorded answer reads."""
    found = {}
    for eid, facts in _elements(engine, process_key, version).items():
        key = (facts or {}).get("form_key")
        if key and engine.forms.exists(key):
            fields = engine.forms.get(key).fields
            found[eid] = {f.name: {str(v): t for v, t in f.options()} for f in fields if f.enum}
    return found


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


def _note(action: str, payload: dict) -> str | None:
    """What an alert said, or the supervision letter sent and to whom."""
    if action == "alert_raised":
        return payload.get("message")
    if payload.get("letter_no"):
        return f"{payload['letter_no']} → {person(payload.get('addressed_to'))}"
    return None


OUTCOME_FIELDS = ("outcome", "decision", "accept_outcome", "recommendation")


def history(engine, trail, names: dict[str, str], choices: dict[str, dict[str, dict]] | None = None) -> list[dict]:
    """The audit trail as readable entries: when, who (and for whom), what, the outcome (by its title in the
    task's form, `choices` as choice_titles gives them) and the opinion given. People by their names."""
    entries = []
    for e in trail:
        payload = e.payload or {}
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        # A message's name is the diagram's code: the receiving element (its name) says what arrived.
        label = action_label(e.action)
        reason = payload.get("reason")
        if e.action == "clock_stopped":
            reason = clock_stop_label(reason)
        field = next((f for f in OUTCOME_FIELDS if isinstance(data.get(f), str) and data.get(f)), None)
        titles = ((choices or {}).get(e.bpmn_id or "") or {}).get(field or "", {})
        entries.append({
            "seq": e.seq, "at": e.at, "actor": person(e.actor), "on_behalf_of": person(payload.get("on_behalf_of")),
            "action": label, "element": names.get(e.bpmn_id or "", e.bpmn_id or ""), "opinion": data.get("opinion"),
            "outcome": titles.get(data[field]) if field else None, "to": person(payload.get("to")),
            "reason": reason, "note": _note(e.action, payload),
        })  # fmt: skip
    return entries


def applicant_kind(applicant: dict) -> str:
    return _("法人或其他组织") if (applicant or {}).get("kind") == "organisation" else _("自然人")
