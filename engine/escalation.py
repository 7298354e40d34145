"""Escalation (预警 / 督办): the one way a supervision alert is raised — by a diagram's timer or script
(`raise_alert`, the sandbox's `alert()`), by a procedure rule (engine.rules) — and supervision letters.

An alert is one per (case, kind, stage, instance): the instance is the stage clock's run for the time-limit kinds
(yellow, red, red_plus — a stage entered again is a new run and warns again) and none for a procedure rule, which
is raised once per case and stage whoever finds it (the diagram's own alert() or the rules). Raising an alert that
exists returns it and writes nothing. A new alert records the case, stage, kind, when and who is responsible (the
department from the case data; the officers holding its open tasks, or the person whose act a rule judged), writes
one `alert_raised` event on the case's audit trail and notifies its addressees through engine.notify — an absent
officer's AB backup (AB岗) rather than the absent officer. A red_plus (the statutory limit passed) also issues a
supervision letter (督办函) to the department's leader. All of it is written in the step that raised it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, select

from engine import audit, notify, statistics_rollup
from engine.clock import LOCAL_TZ
from engine.errors import InvalidData
from engine.receipts import next_value
from engine.stages import stage_label
from engine.store import HumanTask, SupervisionAlert, SupervisionLetter
from engine.store.identity import Department
from engine.store.identity import User as UserRow

COLOUR_KINDS = ("yellow", "red", "red_plus")
_RULE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
KIND_NAMES = {"yellow": "黄牌预警", "red": "红牌警告", "red_plus": "红牌督办"}
# Who hears of an alert, on which channels. Rule codes (procedure alerts) go like yellow.
CHANNELS = {
    "yellow": {"officer": ("in_app", "sms")},
    "red": {"officer": ("in_app", "sms", "email"), "leader": ("in_app",)},
    "red_plus": {"officer": ("in_app", "sms", "email"), "leader": ("in_app", "email", "sms")},
}
DEFAULT_DEPARTMENTS_FILE = Path("processes") / "departments.toml"
# The alert of one key, built once (bound at execution): with an instance, and without one (a procedure rule).
_KEY = (SupervisionAlert.case_id == bindparam("case_id"), SupervisionAlert.kind == bindparam("kind"),
        SupervisionAlert.stage == bindparam("stage"))  # fmt: skip
_KEYED = {
    True: select(SupervisionAlert).where(*_KEY, SupervisionAlert.clock_id == bindparam("instance")),
    False: select(SupervisionAlert).where(*_KEY, SupervisionAlert.clock_id.is_(None)),
}
_OPEN_TASKS = select(HumanTask).where(HumanTask.case_id == bindparam("case_id"), HumanTask.state == "open")


@dataclass
class Alert:
    """What is to be raised: kind and stage, and what the caller knows of it. `officers` None: the holders of the
    case's open tasks; `clock`/`status`: the stage's clock row and its status now (time-limit kinds need them)."""

    kind: str
    stage: str = "case"
    message: str | None = None
    officers: list[str] | None = None
    element: str | None = None
    clock: object | None = None
    status: object | None = None


def check_kind(kind) -> str:
    if not isinstance(kind, str) or not (kind in COLOUR_KINDS or _RULE_CODE.match(kind)):
        raise InvalidData(f"alert kind {kind!r} must be yellow, red, red_plus or a rule code like 'stage_overdue'")
    return kind


def raise_alert(clocks, kind: str, stage: str = "case", message: str | None = None) -> SupervisionAlert:
    """Raise an alert for `stage` of the running step's case (a diagram's timer or script; `clocks`: the step's
    StepClocks) through `record`."""
    ctx = clocks.ctx
    check_kind(kind)
    clock = clocks.clocks.get(stage)
    status = clocks.status(stage) if kind in COLOUR_KINDS or clock is not None else None
    data = ctx.flow.current_data() if ctx.flow is not None else dict(ctx.case.data or {})
    officers = holders(ctx.open_tasks())
    spec = Alert(kind, stage, message, officers, clock=clock, status=status)
    return record(ctx.engine, ctx.session, ctx.case, ctx.now, spec, data)


def record(engine, session, case, now, spec: Alert, data: dict | None = None) -> SupervisionAlert:
    """The one way an alert is raised, in the caller's transaction (which holds the case row): the alert of its
    key if it exists, else a new one with its audit event, notifications and (red_plus) supervision letter."""
    found = existing(session, case.id, spec)
    if found is not None:
        return found
    instance = instance_of(session, spec)
    data = dict(case.data or {}) if data is None else data
    status = spec.status
    department = data.get("department") if isinstance(data.get("department"), str) else None
    due = None
    if status is not None:
        due = status.statutory_due if spec.kind == "red_plus" else status.promised_due
    officers = spec.officers if spec.officers is not None else holders(open_tasks(session, case.id))
    alert = SupervisionAlert(
        case_id=case.id, receipt_no=case.receipt_no, stage=spec.stage, clock_id=instance, kind=spec.kind,
        message=spec.message or _default_message(spec.kind, spec.stage, case.receipt_no, data, status,
                                                 lambda code: department_name(session, code)),
        department=department, officers=officers, due_at=due, raised_at=now, element=spec.element,
    )  # fmt: skip
    session.add(alert)
    session.flush()  # its id goes on the audit event, the notifications and the roll-up's note
    statistics_rollup.alert_raised(session, alert)
    audit.append(
        session, case, now, "supervision", "alert_raised",
        {"alert_id": alert.id, "kind": spec.kind, "stage": spec.stage, "message": alert.message,
         "department": department, "officers": alert.officers, "due_at": due.isoformat() if due else None},
    )  # fmt: skip
    _notify(engine, session, case, now, alert)
    return alert


def instance_of(session, spec: Alert) -> int | None:
    """The instance part of an alert's key: the stage clock's run for a time-limit kind, none for a rule."""
    check_kind(spec.kind)
    if spec.kind not in COLOUR_KINDS or spec.clock is None:
        return None
    if spec.clock.id is None:
        session.flush()  # a clock started in this very step needs its id
    return spec.clock.id


def existing(session, case_id: str, spec: Alert) -> SupervisionAlert | None:
    """The alert of the key (case, kind, stage, instance) of `spec`, if raised already (read without flushing the
    step's pending rows)."""
    instance = instance_of(session, spec)
    params = {"case_id": case_id, "kind": spec.kind, "stage": spec.stage, "instance": instance}
    with session.no_autoflush:
        return session.scalars(_KEYED[instance is not None], params).first()


def _notify(engine, session, case, now, alert: SupervisionAlert) -> None:
    """The alert's notifications: its officers and (red, red_plus) the department's leader, each reached in person
    or, while absent, through their backup; the same person is written to once per channel."""
    routes = CHANNELS.get(alert.kind, CHANNELS["yellow"])
    leader = leader_of(engine, session, alert.department) if "leader" in routes else None
    letter = _letter(session, case, now, alert, leader) if alert.kind == "red_plus" else None
    subject = f"{KIND_NAMES.get(alert.kind, '监察预警')}：{case.receipt_no}"
    addressee = person_name(session, leader) or "部门负责人"
    body = alert.message + (f"\n督办函 {letter.letter_no} 已发{addressee}。" if letter else "")
    roles = [("officer", name) for name in alert.officers or []] + ([("leader", leader)] if leader else [])
    reach = {a.meant_for: a for a in notify.addressees(session, [name for _, name in roles], now)}
    sent: set[tuple[str, str]] = set()
    for role, name in roles:
        addressee = reach[name]
        channels = [c for c in routes.get(role, ()) if (c, addressee.recipient) not in sent]
        sent.update((c, addressee.recipient) for c in channels)
        notify.enqueue_for(engine, session, addressee, channels, subject, body, now, case_id=case.id,
                           alert_id=alert.id)  # fmt: skip


def holders(tasks) -> list[str]:
    """Who holds the case now: assignees of its open tasks, else the groups they are offered to."""
    people = sorted({t.assignee for t in tasks if t.assignee})
    return people or sorted({g for t in tasks for g in (t.candidate_groups or [])})


def open_tasks(session, case_id: str) -> list[HumanTask]:
    """The case's open task rows as the step left them (its changes included), read without flushing."""
    with session.no_autoflush:
        stored = list(session.scalars(_OPEN_TASKS, {"case_id": case_id}))
    new = [o for o in session.new if isinstance(o, HumanTask) and o.case_id == case_id]
    return [t for t in (*stored, *new) if t.state == "open"]


def department_name(session, code: str | None) -> str:
    """A department as a person reads it in a message or a letter: its name (the code when none is recorded)."""
    row = session.get(Department, code) if code else None
    return row.name if row is not None else (code or "")


def person_name(session, username: str | None) -> str | None:
    """A user as a letter addresses them: the display name (the username when none is recorded)."""
    row = session.get(UserRow, username) if username else None
    return (row.display_name or row.username) if row is not None else username


def _default_message(kind: str, stage: str, receipt_no: str, data: dict, status, instance_name=None) -> str:
    item = data.get("item_name")
    what = f"办件 {receipt_no}" + (f"「{item}」" if isinstance(item, str) else "")
    # the whole case: no stage to name; a co-department's stage by the department's name
    what += "" if stage == "case" else f"{stage_label(stage, instance_name=instance_name)}环节"
    if status is None or status.promised_due is None:
        return f"{what}：{kind}"
    promised = status.promised_due.astimezone(LOCAL_TZ).date().isoformat()
    note = "（预计，日历数据尚未发布）" if status.provisional else ""
    if kind == "yellow" and status.days_left is not None and status.days_left < 0:
        # The warning fired late (the worker was down): say how things stand, not "-N days left".
        return f"{what}预警时已超过承诺期限 {promised} {-status.days_left} 个工作日{note}。"
    if kind == "yellow":
        return f"{what}即将到期：剩余 {status.days_left} 个工作日，承诺期限 {promised}{note}。"
    if kind == "red":
        return f"{what}已超过承诺期限 {promised}{note}。"
    if kind == "red_plus":
        statutory = status.statutory_due.astimezone(LOCAL_TZ).date().isoformat() if status.statutory_due else promised
        basis = f"，依据{status.basis}" if status.basis else ""
        return f"{what}已超过法定期限 {statutory}{basis}{note}，请立即督办。"
    return f"{what}：{kind}"


def _letter(session, case, now, alert: SupervisionAlert, leader: str | None) -> SupervisionLetter:
    """The supervision letter (督办函) a red_plus issues to the department's leader, on the case's trail."""
    year = now.astimezone(LOCAL_TZ).year
    letter_no = f"督办〔{year}〕{next_value(session, f'letter:{year}')}号"
    department = department_name(session, alert.department) or "（未指定部门）"
    body = (
        f"{person_name(session, leader) or department + '负责人'}：\n"
        f"{alert.message}\n"
        f"请于收到本函后 1 个工作日内查明原因、依法办结，并将处理结果书面报电子监察部门。\n"
        f"根据《行政许可法》第72条、第74条，超过法定期限不予答复将依法追究有关人员责任。"
    )
    letter = SupervisionLetter(
        letter_no=letter_no, alert_id=alert.id, case_id=alert.case_id, department=alert.department,
        addressed_to=leader, subject=f"关于办件 {alert.receipt_no} 超过法定期限的督办函", body=body,
        issued_at=now,
    )  # fmt: skip
    session.add(letter)
    session.flush()
    audit.append(session, case, now, "supervision", "letter_issued", letter_payload(letter))
    return letter


def letter_payload(letter: SupervisionLetter) -> dict:
    """What the audit trail records of a supervision letter."""
    return {"letter_no": letter.letter_no, "alert_id": letter.alert_id, "addressed_to": letter.addressed_to,
            "department": letter.department or "（未指定部门）"}  # fmt: skip


def notify_letter(engine, session, letter: SupervisionLetter, now) -> list:
    """Tell a supervision letter's addressee (or their AB backup while absent) that it was issued."""
    if not letter.addressed_to:
        return []
    (addressee,) = notify.addressees(session, [letter.addressed_to], now)
    return notify.enqueue_for(engine, session, addressee, ("in_app", "email"), letter.subject, letter.body, now,
                              case_id=letter.case_id, alert_id=letter.alert_id)  # fmt: skip


def leader_of(engine, session, department: str | None) -> str | None:
    """The department's leader: the identity directory's department row, else `processes/departments.toml`."""
    if not department:
        return None
    try:
        with session.begin_nested():  # a savepoint: a missing table must not spoil the step's transaction
            row = session.get(Department, department)
        if row is not None and row.leader:
            return row.leader
    except Exception:  # noqa: BLE001 - the identity area is optional here; fall back to the file
        pass
    return _file_leaders(getattr(engine, "departments_file", None) or DEFAULT_DEPARTMENTS_FILE).get(department)


_LEADERS_CACHE: dict[str, tuple[float, dict[str, str]]] = {}


def _file_leaders(path) -> dict[str, str]:
    path = Path(path)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    cached = _LEADERS_CACHE.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    leaders = {d["code"]: d["leader"] for d in doc.get("department", []) if d.get("code") and d.get("leader")}
    _LEADERS_CACHE[str(path)] = (mtime, leaders)
    return leaders


def alerts(engine, *, case_id: str | None = None, department: str | None = None, kind: str | None = None,
           limit: int = 200) -> list[SupervisionAlert]:  # fmt: skip
    """The latest alerts, newest first, optionally of one case, department or kind."""
    query = select(SupervisionAlert).order_by(SupervisionAlert.raised_at.desc(), SupervisionAlert.id.desc())
    if case_id:
        query = query.where(SupervisionAlert.case_id == case_id)
    if department:
        query = query.where(SupervisionAlert.department == department)
    if kind:
        query = query.where(SupervisionAlert.kind == kind)
    with engine.db.session() as session:
        return list(session.scalars(query.limit(limit)))


def letters(engine, *, addressed_to: str | None = None, limit: int = 200) -> list[SupervisionLetter]:
    """Supervision letters, newest first, optionally those addressed to one leader."""
    query = select(SupervisionLetter).order_by(SupervisionLetter.issued_at.desc(), SupervisionLetter.id.desc())
    if addressed_to:
        query = query.where(SupervisionLetter.addressed_to == addressed_to)
    with engine.db.session() as session:
        return list(session.scalars(query.limit(limit)))


def alert_json(a: SupervisionAlert) -> dict:
    return {
        "id": a.id, "case_id": a.case_id, "receipt_no": a.receipt_no, "stage": a.stage,
        "stage_name": stage_label(a.stage), "kind": a.kind,
        "message": a.message, "department": a.department, "officers": list(a.officers or []),
        "due_at": a.due_at.isoformat() if a.due_at else None, "raised_at": a.raised_at.isoformat(),
    }  # fmt: skip
