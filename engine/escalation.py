"""Escalation (预警 / 督办): supervision alerts raised from the diagram's timers, and supervision letters.

An alert records the case, the stage, the kind (yellow, red, red_plus or a rule code), when it was raised and who
is responsible (the department from the case data, the officers holding its open tasks); it goes on the case's
audit trail and into the notification outbox. A red_plus (the statutory limit passed) also raises a supervision
letter (督办函) addressed to the department's leader. All of it is written in the step that raised it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from sqlalchemy import select

from engine import audit, notify
from engine.clock import LOCAL_TZ
from engine.errors import InvalidData
from engine.receipts import next_value
from engine.store import SupervisionAlert, SupervisionLetter

COLOUR_KINDS = ("yellow", "red", "red_plus")
_RULE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
KIND_NAMES = {"yellow": "黄牌预警", "red": "红牌警告", "red_plus": "红牌督办"}
STAGE_NAMES = {
    "case": "办件", "accept": "受理", "review": "审查", "decide": "决定", "deliver": "送达", "co_review": "协办审查",
    "reply": "答复", "file_case": "立案", "investigate": "调查取证", "legal_review": "法制审核", "hearing": "听证",
}  # fmt: skip
# Who hears of an alert, on which channels. Rule codes (procedure alerts) go like yellow.
CHANNELS = {
    "yellow": {"officer": ("in_app", "sms")},
    "red": {"officer": ("in_app", "sms", "email"), "leader": ("in_app",)},
    "red_plus": {"officer": ("in_app", "sms", "email"), "leader": ("in_app", "email", "sms")},
}
DEFAULT_DEPARTMENTS_FILE = Path("processes") / "departments.toml"


def stage_name(stage: str) -> str:
    base, _, instance = stage.partition(":")
    name = STAGE_NAMES.get(base, base)
    return f"{name}（{instance}）" if instance else name


def raise_alert(clocks, kind: str, stage: str = "case", message: str | None = None) -> SupervisionAlert:
    """Record an alert for `stage` of the step's case (once per stage clock run and kind), audit and notify it."""
    ctx = clocks.ctx
    if not isinstance(kind, str) or not (kind in COLOUR_KINDS or _RULE_CODE.match(kind)):
        raise InvalidData(f"alert kind {kind!r} must be yellow, red, red_plus or a rule code like 'stage_overdue'")
    clock = clocks.clocks.get(stage)
    status = clocks.status(stage) if kind in COLOUR_KINDS or clock is not None else None
    clock_id = None
    if clock is not None:
        ctx.session.flush()  # a clock started in this very step needs its id
        clock_id = clock.id
    existing = ctx.session.scalars(
        select(SupervisionAlert).where(
            SupervisionAlert.case_id == ctx.case.id, SupervisionAlert.stage == stage, SupervisionAlert.kind == kind,
            SupervisionAlert.clock_id == clock_id if clock_id is not None else SupervisionAlert.clock_id.is_(None),
        )
    ).first()  # fmt: skip
    if existing is not None:
        return existing
    data = ctx.flow.current_data() if ctx.flow is not None else dict(ctx.case.data or {})
    department = data.get("department") if isinstance(data.get("department"), str) else None
    due = None
    if status is not None:
        due = status.statutory_due if kind == "red_plus" else status.promised_due
    alert = SupervisionAlert(
        case_id=ctx.case.id, receipt_no=ctx.case.receipt_no, stage=stage, clock_id=clock_id, kind=kind,
        message=message or _default_message(kind, stage, ctx.case.receipt_no, data, status),
        department=department, officers=_officers(ctx), due_at=due, raised_at=ctx.now,
    )  # fmt: skip
    ctx.session.add(alert)
    ctx.session.flush()
    audit.append(
        ctx.session, ctx.case, ctx.now, "supervision", "alert_raised",
        {"alert_id": alert.id, "kind": kind, "stage": stage, "message": alert.message, "department": department,
         "officers": alert.officers, "due_at": due.isoformat() if due else None},
    )  # fmt: skip
    leader = leader_of(ctx.engine, ctx.session, department)
    letter = _letter(ctx, alert, leader, status) if kind == "red_plus" else None
    subject = f"{KIND_NAMES.get(kind, '监察预警')}：{ctx.case.receipt_no}"
    body = alert.message + (f"\n督办函 {letter.letter_no} 已发{leader or '部门负责人'}。" if letter else "")
    routes = CHANNELS.get(kind, CHANNELS["yellow"])
    recipients = [("officer", name) for name in alert.officers] + ([("leader", leader)] if leader else [])
    for role, name in recipients:
        for channel in routes.get(role, ()):
            notify.enqueue(ctx.engine, ctx.session, channel, name, subject, body, ctx.now,
                           case_id=ctx.case.id, alert_id=alert.id)  # fmt: skip
    return alert


def _officers(ctx) -> list[str]:
    """Who holds the case now: assignees of its open tasks, else the groups they are offered to."""
    tasks = ctx.open_tasks()
    people = sorted({t.assignee for t in tasks if t.assignee})
    return people or sorted({g for t in tasks for g in (t.candidate_groups or [])})


def _default_message(kind: str, stage: str, receipt_no: str, data: dict, status) -> str:
    item = data.get("item_name")
    what = f"办件 {receipt_no}" + (f"「{item}」" if isinstance(item, str) else "") + f"{stage_name(stage)}环节"
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


def _letter(ctx, alert: SupervisionAlert, leader: str | None, status) -> SupervisionLetter:
    year = ctx.now.astimezone(LOCAL_TZ).year
    letter_no = f"督办〔{year}〕{next_value(ctx.session, f'letter:{year}')}号"
    department = alert.department or "（未指定部门）"
    body = (
        f"{leader or department + '负责人'}：\n"
        f"{alert.message}\n"
        f"请于收到本函后 1 个工作日内查明原因、依法办结，并将处理结果书面报电子监察部门。\n"
        f"根据《行政许可法》第72条、第74条，超过法定期限不予答复将依法追究有关人员责任。"
    )
    letter = SupervisionLetter(
        letter_no=letter_no, alert_id=alert.id, case_id=alert.case_id, department=alert.department,
        addressed_to=leader, subject=f"关于办件 {alert.receipt_no} 超过法定期限的督办函", body=body,
        issued_at=ctx.now,
    )  # fmt: skip
    ctx.session.add(letter)
    ctx.session.flush()
    payload = {"letter_no": letter_no, "alert_id": alert.id, "addressed_to": leader, "department": department}
    audit.append(ctx.session, ctx.case, ctx.now, "supervision", "letter_issued", payload)
    return letter


def leader_of(engine, session, department: str | None) -> str | None:
    """The department's leader: the identity directory's department row, else `processes/departments.toml`."""
    if not department:
        return None
    try:
        from engine.store.identity import Department

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
        "id": a.id, "case_id": a.case_id, "receipt_no": a.receipt_no, "stage": a.stage, "kind": a.kind,
        "message": a.message, "department": a.department, "officers": list(a.officers or []),
        "due_at": a.due_at.isoformat() if a.due_at else None, "raised_at": a.raised_at.isoformat(),
    }  # fmt: skip
