"""The procedure rules' checks (程序性预警): the home of each judgement of a case step against the procedure the
law sets, and of the list of checks engine.rules runs on every step.

What the checks read — the names of the procedures in processes/ and their forms in forms/ (GLOSSARY.md):
- stages: an element's `stage` property (camunda:properties), else its BPMN id — `accept` (acceptance; review
  appeals: `acceptance_review`), `decide`, `deliver` (licences: the certificate, 行政许可法第44条), `legal_review`,
  `notice_of_rights`; a missing-materials notice is the element `one_time_notice` (licences) or `supplement_notice`
  (review appeals), or a wait whose stage or `clock_stop` is `supplement`;
- submitted data: `accept_outcome` `refuse` with `refuse_reason` (and `competent_agency` / `competent_body` when
  the matter is not in the agency's remit), `decision` `deny` with `reasons`; `fee_charged`; `notified_on` (a
  written notice of a clock stop); `suspension_reason` (the ground of a review appeal's suspension);
- case data set by the diagrams: `accepted_at` / `decided_at` (stamped by the engine clock at acceptance and
  decision), `item_kind` (catalog: license | penalty | review_appeal), `handling` (instant | promised), `fee`,
  `limits`; enforcement: `legal_review_grounds`, `hearing_held`, `legal_review_result`, `outcome`, `fine_amount`,
  `penalties`, and the content of the notice of rights `notified_fine` / `notified_penalties`;
- the stage clocks and clock stops of the time-limits area.
Each check returns its findings; engine.rules turns them into alerts.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from engine.deadlines import (
    CLOCK_STOP_REASONS,
    ClockFacts,
    Interval,
    Limit,
    calendar_for,
    policy_of,
    stage_status,
)
from engine.errors import InvalidData, NotFound
from engine.extensions import check_extension
from engine.local_time import DAY, shown
from engine.rule_facts import Facts, Finding
from engine.store import ClockStop

OUTCOME_KEYS = ("accept_outcome", "decision", "outcome")
REFUSALS = frozenset({"refuse", "return", "deny"})  # 不予受理 / 退办 / 不予许可
REASON_KEYS = ("refuse_reason", "reasons")
COMPETENT_KEYS = ("competent_agency", "competent_body")  # 行政许可法第32条第1款第2项；行政复议法第30条第2款
NOTICE_ELEMENTS = frozenset({"one_time_notice", "supplement_notice"})
CERTIFICATE_WORKDAYS = 10  # 行政许可法第44条
MIN_PROCESSING = timedelta(minutes=30)  # a promised item decided faster than this was entered after the fact


def _text(value) -> str:
    return str(value).strip() if value is not None else ""


def _refuse_without_reason(f: Facts) -> list[Finding]:
    if f.event.action != "task_completed":
        return []
    outcome = next((f.submitted.get(k) for k in OUTCOME_KEYS if f.submitted.get(k)), None)
    if outcome not in REFUSALS:
        return []
    stage = f.stage(f.event.bpmn_id) if f.event.bpmn_id else "accept"
    reason = next((_text(f.submitted.get(k)) for k in REASON_KEYS if _text(f.submitted.get(k))), "")
    if not reason:
        return [Finding("refuse_without_reason", stage, f"{stage} 环节作出“{outcome}”但未写明理由", f.event.bpmn_id)]
    if reason == "not_in_remit" and not any(_text(f.submitted.get(k)) for k in COMPETENT_KEYS):
        message = f"{stage} 环节以不属于本机关职权范围为由不予受理，但未告知申请人向哪个行政机关申请"
        return [Finding("refuse_without_reason", stage, message, f.event.bpmn_id)]
    return []


def _repeat_notice(f: Facts) -> list[Finding]:
    """Count the steps that told the applicant to supply missing materials: a notice element ran, a supplement
    wait was entered, or the acceptance was completed with the outcome `supplement`."""
    if not _may_notice(f.event, f.payload, f):
        return []  # the count only grows on a notice step; without one it was judged (and raised) before
    notices, before = 0, set()
    for ev in f.events:
        payload = ev.payload or {}
        if "active" not in payload:
            continue
        now = set(payload.get("active") or [])
        entered = any(f.is_supplement_wait(e) for e in now - before)
        noticed = bool(NOTICE_ELEMENTS & set(payload.get("completed") or []))
        data = payload.get("data") or {}
        asked = ev.action == "task_completed" and "supplement" in (data.get("accept_outcome"), data.get("outcome"))
        notices += 1 if entered or noticed or asked else 0
        before = now
    if notices > 1:
        return [Finding("repeat_notice", "accept", f"已第{notices}次要求申请人补正材料，应一次性告知")]
    return []


def _may_notice(ev, payload: dict, f: Facts) -> bool:
    """Whether event `ev` can be a notice step (its supplement wait entered, a notice element run, `supplement`
    asked for): the same tests as the count in `_repeat_notice`, without the previous step."""
    if "active" not in payload:
        return False
    if any(f.is_supplement_wait(e) for e in payload.get("active") or []):
        return True
    if NOTICE_ELEMENTS & set(payload.get("completed") or []):
        return True
    data = payload.get("data") or {}
    return ev.action == "task_completed" and "supplement" in (data.get("accept_outcome"), data.get("outcome"))


def _stage_over_limit(f: Facts) -> list[Finding]:
    # A single stage, not the whole case: the case clock has its own red / red-plus alerts (DOMAIN.md).
    ended = [c for c in f.clocks if c.ended_at is not None and c.ended_at >= f.now and c.stage != "case"]
    if not ended:
        return []
    stops = [Interval(s.started_at, s.ended_at) for s in sorted(f.stops, key=_started_order)]
    calendar = calendar_for(f.engine, f.session)
    found = []
    for clock in ended:
        status = stage_status(calendar, ClockFacts.of(clock), stops, f.now, policy_of(f.engine))
        if status.colour in ("red", "red_plus"):
            # red+ is the statutory limit passed, or (a staging by working days after red) the promised one late
            statutory = status.statutory_due is not None and clock.ended_at > status.statutory_due
            limit = status.statutory if statutory else (status.promised or status.statutory)
            due = status.statutory_due if statutory else status.promised_due
            message = (f"环节 {clock.stage} 时限 {limit}（{clock.basis or '承诺时限'}），"
                       f"应于 {shown(due, DAY)} 前完成，实际 {shown(clock.ended_at, DAY)} 完成")  # fmt: skip
            found.append(Finding("stage_over_limit", clock.stage, message, clock.element))
    return found


def _limits_entry(f: Facts, stage: str) -> dict:
    limits = f.data.get("limits") if isinstance(f.data.get("limits"), dict) else {}
    entry = limits.get(stage) or limits.get(stage.split(":", 1)[0])
    return entry if isinstance(entry, dict) else {}


def _extension_beyond_maximum(f: Facts) -> list[Finding]:
    found = []
    for clock in f.clocks:
        if not clock.extension:
            continue
        try:
            rule = _limits_entry(f, clock.stage).get("extension_rule")  # the catalog may name the law's rule
            check_extension(Limit.optional(clock.statutory), None, Limit.parse(clock.extension), rule)
        except InvalidData as exc:
            message = f"环节 {clock.stage} 延期 {clock.extension}：{exc}"
            found.append(Finding("extension_beyond_maximum", clock.stage, message, clock.element))
    return found


def _clock_stop_without_reason(f: Facts) -> list[Finding]:
    found = []
    for s in f.stops:
        stage = s.element or "case"
        if (s.reason or "") not in CLOCK_STOP_REASONS:
            message = f"{shown(s.started_at, DAY)} 起中止计时，事由“{s.reason or '（空）'}”不是法定事由"
        elif s.reason == "suspension" and s.started_at >= f.now and not _text(f.data.get("suspension_reason")):
            message = f"{shown(s.started_at, DAY)} 起中止审理，未载明行政复议法第39条规定的中止情形"
        elif s.element and s.ended_at is not None and s.ended_at >= f.now and not _noticed(f, s):
            message = f"{shown(s.started_at, DAY)} 起中止计时（{s.reason}），未书面告知当事人"
        else:
            continue
        found.append(Finding("clock_stop_without_reason", stage, message, s.element))
    return found


def _started_order(row) -> tuple:
    """Rows in the order they were written (a row written in this step has no id yet: it comes last)."""
    return (row.id is None, row.id or 0)


def _noticed(f: Facts, stop: ClockStop) -> bool:
    """A written notice (`notified_on`) was recorded by a task completed while the stop lasted — the notice that
    started it (licences: the notice of the special procedure) or the one that ended it (review appeals)."""
    return any(
        ev.action == "task_completed" and stop.started_at <= ev.at <= stop.ended_at
        and _text(((ev.payload or {}).get("data") or {}).get("notified_on"))
        for ev in f.events
    )  # fmt: skip


def _when(value) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _late_certificate(f: Facts) -> list[Finding]:
    delivered = f.completed_now("deliver", "certificate")
    if not delivered or not f.is_licence():
        return []  # enforcement and review-appeal deliveries have their own stage limits
    decided = _when(f.data.get("decided_at")) or (f.completions("decide", before_seq=f.event.seq + 1) or [None])[-1]
    if decided is None:
        return []
    days = calendar_for(f.engine, f.session).workdays_between(decided, f.now)
    if days <= CERTIFICATE_WORKDAYS:
        return []
    return [Finding("late_certificate", f.stage(delivered[0]), f"决定后第{days}个工作日才颁发、送达证件", delivered[0])]


def _decision_timing(f: Facts) -> list[Finding]:
    accepted, decided = _when(f.data.get("accepted_at")), _when(f.data.get("decided_at"))
    if accepted and decided and decided < accepted:
        message = f"记录的决定时间 {shown(decided)} 早于受理时间 {shown(accepted)}"
        return [Finding("decision_before_acceptance", "decide", message)]
    if not any(f.stage(e) == "accept" for e in f.elements):
        return []  # procedures without an acceptance step (enforcement: filing) are not judged here
    decided_now = f.completed_now("decide")
    decided = decided or (f.now if decided_now else None)
    if decided is None:
        return []
    element = decided_now[0] if decided_now else None
    accepted = accepted or next(iter(f.completions("accept", before_seq=f.event.seq + 1)), None)
    if accepted is None:
        return [Finding("decision_before_acceptance", "decide", "未经受理即作出决定", element)]
    took = decided - accepted
    if f.is_licence() and f.data.get("handling", "promised") != "instant" and took < MIN_PROCESSING:
        minutes = math.floor(took.total_seconds() / 60)
        return [Finding("implausibly_fast", "decide", f"承诺件自受理至决定仅用 {minutes} 分钟", element)]
    return []


def _enforcement_gates(f: Facts) -> list[Finding]:
    decided = f.completed_now("decide")
    if not decided or not f.is_enforcement():
        return []
    found, before = [], f.event.seq + 1
    grounds = list(f.data.get("legal_review_grounds") or [])
    if f.data.get("hearing_held"):
        grounds.append("hearing_held")  # 第58条第1款第2项: major rights and a hearing was held
    if grounds and not f.completions("legal_review", before_seq=before):
        message = f"须法制审核的案件（{'、'.join(map(str, grounds))}）未经法制审核即作出决定"
        found.append(Finding("enforcement_without_legal_review", "decide", message, decided[0]))
    elif grounds and f.data.get("legal_review_result") not in (None, "pass"):
        found.append(Finding("enforcement_without_legal_review", "decide", "法制审核未通过即作出决定", decided[0]))
    if not f.completions("notice_of_rights", before_seq=before):
        found.append(Finding("enforcement_without_notice", "decide", "作出决定前未送达行政处罚事先告知书", decided[0]))
    elif f.data.get("outcome") == "penalty" and (beyond := _beyond_notice(f.data)):
        message = f"决定的处罚超出事先告知的内容（{beyond}），未重新告知并听取陈述申辩"
        found.append(Finding("enforcement_without_notice", "decide", message, decided[0]))
    return found


def _beyond_notice(data: dict) -> str:
    """What the decided penalty adds to the content of the notice of rights (empty when nothing)."""
    parts = []
    notified_fine, fine = data.get("notified_fine"), data.get("fine_amount")
    if isinstance(notified_fine, int | float) and isinstance(fine, int | float) and fine > notified_fine:
        parts.append(f"罚款 {fine:g} 元，告知 {notified_fine:g} 元")
    notified = data.get("notified_penalties")
    if isinstance(notified, list):
        added = [p for p in data.get("penalties") or [] if p not in notified]
        if added:
            parts.append(f"未告知的处罚种类 {'、'.join(map(str, added))}")
    return "；".join(parts)


def _fee_not_in_catalog(f: Facts) -> list[Finding]:
    if "fee_charged" not in f.submitted:
        return []
    stage = f.stage(f.event.bpmn_id) if f.event.bpmn_id else "fee"
    try:
        charged = float(f.submitted.get("fee_charged") or 0)
    except (TypeError, ValueError):
        return [Finding("fee_not_in_catalog", stage, f"收费金额“{f.submitted.get('fee_charged')}”不是数字",
                        f.event.bpmn_id)]  # fmt: skip
    standard = _catalog_fee(f)
    if charged == 0 or (standard is not None and math.isclose(charged, standard)):
        return []
    expected = "免费" if standard is None else f"{standard:g} 元"
    return [Finding("fee_not_in_catalog", stage, f"收费 {charged:g} 元，事项目录为 {expected}", f.event.bpmn_id)]


def _catalog_fee(f: Facts) -> float | None:
    """The item's fee standard: the catalog's when it is loaded, else the fee copied into the case at apply."""
    fee = f.data.get("fee")
    catalog = getattr(f.engine, "catalog", None)
    if catalog is not None and f.data.get("item_code"):
        with contextlib.suppress(NotFound):  # an item no longer published: the case's copy of it counts
            fee = catalog.get(f.data["item_code"]).fee
    if isinstance(fee, dict):
        fee = fee.get("standard")
    elif fee is not None and not isinstance(fee, int | float):
        fee = getattr(fee, "standard", None)
    return float(fee) if isinstance(fee, int | float) and fee > 0 else None


CHECKS: list[Callable[[Facts], list[Finding]]] = [
    _refuse_without_reason, _repeat_notice, _stage_over_limit, _extension_beyond_maximum,
    _clock_stop_without_reason, _late_certificate, _decision_timing, _enforcement_gates, _fee_not_in_catalog,
]  # fmt: skip
