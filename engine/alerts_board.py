"""The alerts board (预警督办): open alerts within a scope, and what supervisors do about them — acknowledge with
a note, issue a supervision letter (督办函) to a department with a reply deadline, record accountability
(过错责任追究) against an officer or a window.

Alerts and letters are the time-limits area's tables; acknowledgements and letter deadlines are recorded in
`alert_actions`, fault records in `accountability_records`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, and_, cast, func, select

from engine import escalation, policy, statistics_rollup
from engine.deadlines import calendar_for
from engine.errors import InvalidData, NotFound
from engine.open_alerts import open_alert_condition
from engine.receipts import next_value
from engine.rules import RULES
from engine.stages import stage_label
from engine.step import run_step
from engine.store.supervision import AccountabilityRecord, AlertAction
from engine.store.time_limits import SupervisionAlert, SupervisionLetter
from engine.supervision import Scope, scope_of

TIME_KINDS = {"yellow": "黄牌预警", "red": "红牌警告", "red_plus": "红牌督办"}
FAULT_KINDS = {
    "delay": "超期办理", "wrongful_refusal": "无正当理由不予受理", "extra_requirements": "擅自增加条件或材料",
    "repeated_supplement": "多次要求补正", "unlawful_fee": "违规收费", "procedure_violation": "违反法定程序",
    "false_record": "弄虚作假", "service_attitude": "服务态度恶劣",
}  # fmt: skip
MEASURES = {"reminder": "提醒谈话", "admonition": "诫勉谈话", "criticism": "通报批评", "disciplinary": "移送纪检监察"}
MAX_REPLY_WORKDAYS = 30
# A letter may concern a case in any state (an alert outlives the running case it was raised on).
CASE_STATUSES = ("running", "suspended", "error", "completed", "terminated")


def _kind_info(kind: str) -> tuple[str, str | None]:
    """(title, article) of an alert kind: the time-limit colours, or a procedure rule of engine.rules."""
    if kind in TIME_KINDS:
        return TIME_KINDS[kind], None
    rule = RULES.get(kind)
    return (rule.title, rule.article) if rule else (kind, None)


@dataclass(frozen=True)
class AlertFilter:
    kind: str | None = None
    department: str | None = None
    officer: str | None = None
    include_closed: bool = False
    limit: int = 200  # alerts per page
    page: int = 1


@dataclass(frozen=True)
class AlertPage:
    """One page of the board: its alerts, how many match the filter in all, and where the page stands."""

    rows: list[dict]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


MAX_PER_PAGE = 200
MAX_BULK = 200  # alerts acknowledged with one note at most (a page of the board)


def _require_supervisor(engine, user, action: str, department: str | None = None) -> None:
    """The permission policy's answer for a supervisor's act on an alert (or a department it addresses)."""
    policy.require(policy.subject(engine, user), action, policy.Target(department=department))


def _reason(text: str | None, what: str = "note") -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidData(f"a {what} is required", [(what, "required")])
    return value


def list_alerts(engine, scope: Scope, f: AlertFilter = AlertFilter()) -> list[dict]:
    """Alerts of the scope, newest first: open ones only unless `include_closed`; one page of `f.limit`."""
    return alert_page(engine, scope, f).rows


def alert_page(engine, scope: Scope, f: AlertFilter = AlertFilter()) -> AlertPage:
    """One page of the scope's alerts matching the filter (newest first) and how many match in all, both counted
    by the database."""
    if f.page < 1 or not 1 <= f.limit <= MAX_PER_PAGE:
        raise InvalidData(f"page must be ≥ 1 and per_page between 1 and {MAX_PER_PAGE}", [("page", "range")])
    a = SupervisionAlert
    cond = _conditions(engine, scope, f)
    query = select(a).where(*cond).order_by(a.raised_at.desc(), a.id.desc())
    with engine.db.session() as session:
        total = session.scalar(select(func.count()).select_from(a).where(*cond))
        alerts = session.scalars(query.limit(f.limit).offset((f.page - 1) * f.limit)).all()
        ids = [x.id for x in alerts]
        actions: dict[int, list[AlertAction]] = {}
        if ids:
            for act in session.scalars(
                select(AlertAction).where(AlertAction.alert_id.in_(ids)).order_by(AlertAction.id)
            ):
                actions.setdefault(act.alert_id, []).append(act)
    return AlertPage([_alert_json(x, actions.get(x.id, [])) for x in alerts], total, f.page, f.limit)


def _conditions(engine, scope: Scope, f: AlertFilter) -> list:
    a = SupervisionAlert
    cond = []
    if scope.departments is not None:
        cond.append(a.department.in_(sorted(scope.departments)))
    if f.department:
        cond.append(a.department.in_(engine.identity.department_scope(f.department)))
    if f.kind:
        cond.append(a.kind == f.kind)
    if f.officer:
        cond.append(cast(a.officers, String).like(f'%"{f.officer}"%'))
    if not f.include_closed:
        cond.append(open_alert_condition())
    return cond


def _alert_json(alert: SupervisionAlert, actions: list[AlertAction]) -> dict:
    title, article = _kind_info(alert.kind)
    ack = next((x for x in actions if x.kind == "acknowledge"), None)
    return {
        "id": alert.id, "case_id": alert.case_id, "receipt_no": alert.receipt_no, "stage": alert.stage,
        "stage_name": stage_label(alert.stage),
        "kind": alert.kind, "title": title, "article": article, "message": alert.message,
        "department": alert.department, "officers": list(alert.officers or []), "element": alert.element,
        "due_at": alert.due_at.isoformat() if alert.due_at else None, "raised_at": alert.raised_at.isoformat(),
        "open": ack is None, "acknowledged_by": ack.acted_by if ack else None, "note": ack.note if ack else None,
        "letters": [{"letter_id": x.letter_id, "reply_due_at": x.reply_due_at.isoformat() if x.reply_due_at else None,
                     "by": x.acted_by, "note": x.note} for x in actions if x.kind == "letter"],
    }  # fmt: skip


def _alert_in_scope(session, scope: Scope, alert_id: int) -> SupervisionAlert:
    alert = session.get(SupervisionAlert, alert_id)
    if alert is None or not scope.allows(alert.department):
        raise NotFound(f"alert {alert_id} does not exist in your supervision scope")
    return alert


def acknowledge(engine, user, alert_id: int, note: str) -> dict:
    """Close an open alert with a note saying what was checked or done."""
    _require_supervisor(engine, user, "act_on_alert")
    note = _reason(note)
    scope = scope_of(engine, user)
    with engine.db.session() as session, session.begin():
        done = _acknowledgements(session, [alert_id])
        if done:
            raise InvalidData(f"alert {alert_id} was already acknowledged by {done[alert_id]}")
        _acknowledge(engine, session, user, _alert_in_scope(session, scope, alert_id), note)
        statistics_rollup.write(session)  # not a case step: the roll-up is written here, before the commit
    return {"alert_id": alert_id, "acknowledged_by": user.username}


def acknowledge_all(engine, user, alert_ids, note: str) -> dict:
    """Close several alerts with one note, each recorded as its own acknowledgement, in one transaction: all of
    them or, when one is not in the scope, none. Alerts someone acknowledged meanwhile are left as they are and
    named in `already`."""
    _require_supervisor(engine, user, "act_on_alert")
    note = _reason(note)
    try:
        ids = list(dict.fromkeys(int(i) for i in alert_ids))
    except (TypeError, ValueError):
        raise InvalidData("an alert is named by its number", [("alert_id", "not a number")]) from None
    if not ids:
        raise InvalidData("choose the alerts to acknowledge", [("alert_id", "required")])
    if len(ids) > MAX_BULK:
        raise InvalidData(f"at most {MAX_BULK} alerts at once", [("alert_id", "too many")])
    scope = scope_of(engine, user)
    with engine.db.session() as session, session.begin():
        alerts = [_alert_in_scope(session, scope, i) for i in ids]
        done = _acknowledgements(session, ids)
        for alert in alerts:
            if alert.id not in done:
                _acknowledge(engine, session, user, alert, note)
        statistics_rollup.write(session)
    return {"acknowledged": [i for i in ids if i not in done], "already": sorted(done), "by": user.username}


def _acknowledgements(session, ids: list[int]) -> dict[int, str]:
    """Who acknowledged which of these alerts already."""
    found = select(AlertAction.alert_id, AlertAction.acted_by).where(
        AlertAction.alert_id.in_(ids), AlertAction.kind == "acknowledge"
    )
    return dict(session.execute(found).all())


def _acknowledge(engine, session, user, alert: SupervisionAlert, note: str) -> None:
    session.add(AlertAction(alert_id=alert.id, kind="acknowledge", note=note, acted_by=user.username,
                            acted_at=engine.now()))  # fmt: skip
    statistics_rollup.alert_acknowledged(session, alert.id)


def issue_letter(engine, user, alert_id: int, department: str, reply_workdays: int, note: str) -> dict:
    """Issue a supervision letter (督办函) about an alert to a department in scope; its leader must reply within
    `reply_workdays` working days. One case step: the letter goes on the case's audit trail and reaches its
    addressee (or their AB backup) in the same transaction."""
    _require_supervisor(engine, user, "issue_letter")
    note = _reason(note)
    if not isinstance(reply_workdays, int) or not 1 <= reply_workdays <= MAX_REPLY_WORKDAYS:
        raise InvalidData(
            f"the reply deadline must be 1-{MAX_REPLY_WORKDAYS} working days", [("reply_workdays", "range")]
        )
    scope = scope_of(engine, user)
    _require_supervisor(engine, user, "issue_letter", department)
    addressee = engine.identity.department(department)  # NotFound for an unknown department
    with engine.db.session() as session:
        case_id = _alert_in_scope(session, scope, alert_id).case_id
    issued: dict = {}

    def apply(ctx) -> dict:
        alert = _alert_in_scope(ctx.session, scope, alert_id)
        reply_due = calendar_for(engine, ctx.session).add_workdays(ctx.now, reply_workdays).end_of_day()
        letter = _letter(ctx.session, ctx.now, alert, department, addressee, note, reply_due)
        ctx.session.add(AlertAction(alert_id=alert.id, kind="letter", note=note, letter_id=letter.id,
                                    reply_due_at=reply_due, acted_by=user.username, acted_at=ctx.now))  # fmt: skip
        escalation.notify_letter(engine, ctx.session, letter, ctx.now)
        issued.update(letter_id=letter.id, letter_no=letter.letter_no, reply_due_at=reply_due.isoformat())
        return {**escalation.letter_payload(letter), "note": note}

    run_step(engine, case_id, user.username, "letter_issued", apply, statuses=CASE_STATUSES, load_flow=False)
    return issued


def _letter(session, now, alert: SupervisionAlert, department: str, addressee, note: str,
            reply_due) -> SupervisionLetter:  # fmt: skip
    year = now.astimezone(reply_due.tzinfo).year
    title, article = _kind_info(alert.kind)
    letter = SupervisionLetter(
        letter_no=f"监督〔{year}〕{next_value(session, f'supervision_letter:{year}'):04d}号", alert_id=alert.id,
        case_id=alert.case_id, department=department, addressed_to=addressee.leader,
        subject=f"关于办件{alert.receipt_no}{title}的督办函",
        body=f"{addressee.name}：办件{alert.receipt_no}（{stage_label(alert.stage)}）{title}"
             f"{'（' + article + '）' if article else ''}。{note} 请于{reply_due:%Y年%m月%d日}前书面回复办理情况。",
        issued_at=now,
    )  # fmt: skip
    session.add(letter)
    session.flush()
    return letter


def record_accountability(engine, user, *, target_kind: str, target: str, fault_kind: str, reason: str,
                          measure: str | None = None, case_id: str | None = None,
                          alert_id: int | None = None) -> dict:  # fmt: skip
    """Record a fault (过错责任追究) against an officer (user name) or a window (department code) in scope."""
    _require_supervisor(engine, user, "act_on_alert")
    reason = _reason(reason, "reason")
    if fault_kind not in FAULT_KINDS:
        raise InvalidData(
            f"fault kind '{fault_kind}' is not one of {', '.join(FAULT_KINDS)}", [("fault_kind", "unknown")]
        )
    if measure and measure not in MEASURES:
        raise InvalidData(f"measure '{measure}' is not one of {', '.join(MEASURES)}", [("measure", "unknown")])
    scope = scope_of(engine, user)
    if target_kind == "officer":
        department = engine.identity.get_user(target).department
    elif target_kind == "window":
        department = engine.identity.department(target).code
    else:
        raise InvalidData("the target is an officer or a window", [("target_kind", "unknown")])
    _require_supervisor(engine, user, "act_on_alert", department)
    with engine.db.session() as session, session.begin():
        if alert_id is not None:
            _alert_in_scope(session, scope, alert_id)
        record = AccountabilityRecord(
            target_kind=target_kind, target=target, department=department, fault_kind=fault_kind, measure=measure,
            case_id=case_id, alert_id=alert_id, reason=reason, recorded_by=user.username, recorded_at=engine.now(),
        )  # fmt: skip
        session.add(record)
        session.flush()
        return {"id": record.id, "target": target, "department": department, "fault_kind": fault_kind}


def accountability_records(engine, scope: Scope, limit: int = 200) -> list[dict]:
    """The fault records of the scope, newest first."""
    r = AccountabilityRecord
    cond = [] if scope.departments is None else [r.department.in_(sorted(scope.departments))]
    with engine.db.session() as session:
        rows = session.scalars(select(r).where(and_(*cond)).order_by(r.recorded_at.desc()).limit(limit)).all()
    return [
        {"id": x.id, "target_kind": x.target_kind, "target": x.target, "department": x.department,
         "fault_kind": x.fault_kind, "fault": FAULT_KINDS.get(x.fault_kind), "measure": x.measure,
         "case_id": x.case_id, "alert_id": x.alert_id, "reason": x.reason, "recorded_by": x.recorded_by,
         "recorded_at": x.recorded_at.isoformat()}
        for x in rows
    ]  # fmt: skip
