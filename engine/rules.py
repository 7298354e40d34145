"""Procedure rules (程序性预警): the home of the rule registry (each rule's code, title and article) and of their
evaluation on every case step, which raises a supervision alert citing the rule and its article when a case
breaks the procedure the law sets. The checks themselves are in engine.rule_checks, what they read in
engine.rule_facts.

Each alert is raised once per case, rule and stage, through escalation.record (an alert the diagram raised itself
with the same code and stage is not raised twice); it is audited and notified like every alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import escalation
from engine.rule_checks import CHECKS
from engine.rule_facts import Facts, Finding
from engine.store.time_limits import SupervisionAlert


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    article: str


RULES = {r.code: r for r in (
    Rule("refuse_without_reason", "不予受理或不予许可未说明理由",
         "行政许可法第32条、第38条第2款；行政复议法第30条第2款"),
    Rule("repeat_notice", "多次要求补正材料（未一次性告知）", "行政许可法第32条第1款第4项；行政复议法第31条"),
    Rule("stage_over_limit", "环节超过本环节时限", "行政许可法第42条及本事项承诺时限"),
    Rule("extension_beyond_maximum", "延期超过法定最长期限", "行政许可法第42条、第26条；行政复议法第62条"),
    Rule("clock_stop_without_reason", "无法定事由或未书面告知中止计时", "行政许可法第45条；行政复议法第39条"),
    Rule("late_certificate", "决定后超过10个工作日颁发、送达证件", "行政许可法第44条"),
    Rule("decision_before_acceptance", "决定时间早于受理时间", "行政许可法第32条、第42条"),
    Rule("implausibly_fast", "承诺件办理用时异常短（疑似事后补录）", "行政许可法第42条"),
    Rule("enforcement_without_legal_review", "作出处罚决定前未经法制审核", "行政处罚法第58条"),
    Rule("enforcement_without_notice", "作出处罚决定前未告知拟处罚内容及陈述申辩权利",
         "行政处罚法第44条、第45条、第62条"),
    Rule("fee_not_in_catalog", "收费与事项目录不符", "行政许可法第58条、第59条"),
    # Raised by the procedure diagrams themselves (alert(code) in a script); listed for their title and article.
    Rule("pause_not_in_catalog", "特别程序未列入事项目录", "行政许可法第45条"),
    Rule("hearing_notice_short", "听证通知未在法定期限前送达", "行政许可法第48条；行政处罚法第64条；行政复议法第51条"),
    Rule("hearing_chair_conflict", "听证主持人为审查该申请的工作人员", "行政许可法第48条第1款第3项"),
    Rule("penalty_above_notice", "处罚决定重于告知的拟处罚内容", "行政处罚法第45条、第62条"),
    Rule("approve_despite_veto", "协办部门否决意见未经联审化解即准予许可", "行政许可法第26条"),
    Rule("reply_missing", "被申请人未按期书面答复、提交证据", "行政复议法第48条、第70条"),
    Rule("decision_against_art70", "被申请人未答复仍维持或驳回", "行政复议法第70条"),
)}  # fmt: skip


def findings(engine, session, case, event, row=None, clocks=None) -> list[Finding]:
    """Every rule finding on the case after `event` (already raised ones included); `clocks`: the step's
    CaseClocks when the caller has them (else they are read here)."""
    facts = Facts(engine, session, case, event, row, clocks)
    found = [finding for check in CHECKS for finding in check(facts)]
    # A late certificate is one fault: its delivery stage running over is the same fact, reported once.
    late = {x.element for x in found if x.code == "late_certificate"}
    return [x for x in found if not (x.code == "stage_over_limit" and x.element in late)]


def evaluate(engine, session, case, event, row=None, clocks=None) -> list[SupervisionAlert]:
    """Raise an alert for each new finding, through the one way alerts are raised (escalation.record: once per
    case, rule and stage, audited and notified), in the step's transaction."""
    if case.status == "terminated":
        return []
    raised = []
    for finding in findings(engine, session, case, event, row, clocks):
        rule = RULES[finding.code]
        spec = escalation.Alert(finding.code, finding.stage, f"{rule.title}（{rule.article}）：{finding.message}",
                                element=finding.element)  # fmt: skip
        if escalation.existing(session, case.id, spec) is not None:
            continue  # judged (and raised) on an earlier step, or by the diagram itself
        spec.officers = _responsible(session, case, event)
        raised.append(escalation.record(engine, session, case, event.at, spec))
    return raised


def _responsible(session, case, event) -> list[str]:
    """Whom a rule alert names: the person whose completed task it judges, else whoever holds the case now."""
    if event.action == "task_completed" and event.actor:
        return [event.actor]
    return escalation.holders(escalation.open_tasks(session, case.id)) or [event.actor]
