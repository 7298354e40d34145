"""processes/joint_review.bpmn — 并联审批 (joint review), 行政许可法第26条、第42条第2款."""

from __future__ import annotations

from processes.tools.bpmn_builder import Process
from processes.tools.procedure_parts import case_watch, stage_timers

CLERK, APPROVER = "clerk@${department}", "approver@${department}"
CO_GROUP = "reviewer@${co_review['department']}"
CO_STAGE = "'co_review:' + co_review['department']"


def build() -> Process:
    p = Process(
        "joint_review",
        "并联审批",
        (
            "并联审批（联合办理）：牵头部门一次受理（行政许可法第26条、第32条）→ "
            "分送协办部门并联审查，每个协办部门各自计时、各自预警，逾期由政务服务中心督办，"
            "事项目录规定“无回复视为同意”的才按同意处理 → 否决意见须经联审会议/会签 → "
            "牵头部门在45个工作日内作出决定，经本级人民政府负责人批准可延长15个工作日（第42条第2款）→ 送达（第44条）。"
            "协办部门来自事项目录（co_departments），无回复同意规则为 no_reply_consent。"
        ),
        "http://govflow.example/procedures/joint_review",
    )
    p.lane("window", "牵头部门窗口", "牵头部门窗口人员 clerk@${department}")
    p.lane("co", "协办部门", "各协办部门审查人员 reviewer@<协办部门>（多实例，并联）")
    p.lane(
        "lead", "牵头部门审批", "牵头部门 approver@${department}；延期由本级人民政府负责人 leader@${government} 批准"
    )
    p.lane("supervision", "电子监察", "时限监控、预警与督办（系统）")
    p.message("msg_supplement_received", "supplement_received")
    p.signal("sig_joint_decided", "joint_decided")

    p.start("received", "收到申请", "window")
    p.script(
        "register",
        "登记收件",
        "window",
        "\n".join(
            [
                "received_at = now()",
                "notice_count = 0",
                "refuse_reason = ''",
                "competent_agency = ''",
            ]
        ),
    )
    p.user(
        "accept",
        "一次受理",
        "window",
        CLERK,
        "approval/accept",
        props={
            "stage": "accept",
            "statutory_limit": "5wd",
            "promised_limit": "1wd",
            "limit_basis": "行政许可法第32条",
        },
        doc="牵头部门统一受理，一次告知需补正的全部内容（行政许可法第26条、第32条）；申请人不再向各协办部门分别申请。",
    )
    stage_timers(p, "accept", "'accept'", "受理", levels=("yellow", "red", "red_plus"))
    p.flow("received", "register")
    p.flow("register", "accept")
    p.gateway("accept_gw", "受理结论？", "window")
    p.flow("accept", "accept_gw")
    p.script(
        "refuse_notice",
        "出具不予受理决定书",
        "window",
        "refusal = {'reason': refuse_reason, 'competent_agency': competent_agency, 'issued_at': now()}",
        doc="不予受理出具书面凭证并告知有权机关（行政许可法第32条）。",
    )
    p.end("refused", "不予受理", "window")
    p.flow("accept_gw", "refuse_notice", "accept_outcome == 'refuse'", "不予受理")
    p.flow("refuse_notice", "refused")
    p.script(
        "one_time_notice",
        "一次性告知补正",
        "window",
        "notice_count = notice_count + 1\nsupplement_due = days_after(30)\n"
        "supplement_notice = {'items': missing_materials, 'issued_at': now(), 'due': supplement_due}",
        doc="一次告知需要补正的全部内容（行政许可法第32条第1款第4项）。",
    )
    p.flow("accept_gw", "one_time_notice", "accept_outcome == 'supplement'", "材料不全")
    p.gateway("await_supplement", "等待补正", "window", "eventBasedGateway")
    p.flow("one_time_notice", "await_supplement")
    p.catch_message("supplement_in", "收到补正材料", "window", "msg_supplement_received")
    p.timer("supplement_timeout", "补正期限届满", "window", "supplement_due")
    p.end("lapsed", "申请终止（逾期未补正）", "window")
    p.flow("await_supplement", "supplement_in")
    p.flow("await_supplement", "supplement_timeout")
    p.flow("supplement_in", "accept")
    p.flow("supplement_timeout", "lapsed")

    p.script(
        "accepted",
        "受理，开始联合办理时限",
        "window",
        "\n".join(
            [
                "accepted_at = now()",
                "start_limit('case', statutory='45wd', promised='20wd', basis='行政许可法第26条、第42条第2款')",
            ]
        ),
        doc="联合办理的时间不得超过四十五日（第42条第2款）。",
    )
    p.flow("accept_gw", "accepted", name="受理", default=True)
    p.gateway("watch_split", None, "window", "parallelGateway")
    p.flow("accepted", "watch_split")
    case_watch(
        p,
        "case_watch",
        "联合办理时限监控（受理至决定）",
        "sig_joint_decided",
        doc="联合办理45个工作日（延长后60个工作日）的黄牌、红牌、督办（第42条第2款）。",
    )
    p.flow("watch_split", "case_watch")

    # -- parallel co-department review: one instance per co-department, each with its own clock
    co = p.subprocess(
        "co_review_round",
        "协办部门并联审查",
        "co",
        multi=("co_reviews", "co_review"),
        doc="每个协办部门一个实例，各自计时（stage co_review:<部门>）、各自预警与督办。",
    )
    inner = co.inner
    inner.start("co_start", "收到抄告")
    inner.script(
        "co_clock",
        "开始协办时限",
        None,
        f"conditions = []\nreasons = ''\nstart_limit({CO_STAGE}, statutory='10wd', promised='5wd', "
        "basis='行政许可法第26条；本地并联审批规则')",
        doc="协办部门审查时限由事项目录 stage_limits.co_review 规定（通常5-7个工作日）。",
    )
    inner.user(
        "co_review_task",
        "协办部门审查",
        None,
        CO_GROUP,
        "joint_review/co_review",
        doc="出具同意、附条件同意或者否决意见，否决须说明理由和依据。",
    )
    stage_timers(inner, "co_review_task", CO_STAGE, "协办审查", lane=None, levels=("yellow", "red"))
    inner.boundary_timer(
        "co_overdue",
        "协办法定时限届满",
        "co_review_task",
        f"deadline({CO_STAGE}, 'statutory')",
        interrupting=True,
        doc="协办部门逾期未反馈：红牌督办，移交政务服务中心协调。",
    )
    inner.script(
        "co_overdue_alert",
        "逾期督办（政务服务中心）",
        None,
        f"alert('red_plus', {CO_STAGE}, co_review['department'] + '逾期未反馈协办意见，移交政务服务中心督办')",
    )
    inner.gateway("co_consent_gw", "无回复视为同意？", None)
    inner.script(
        "co_deemed_consent",
        "视为同意",
        None,
        f"co_review = {{'department': co_review['department'], 'verdict': 'agree', 'conditions': [], "
        f"'reasons': '逾期未回复，按事项目录视为同意', 'deemed': True}}\nend_limit({CO_STAGE})",
        doc="仅当事项目录规定“无回复视为同意”（no_reply_consent）时适用。",
    )
    inner.user(
        "co_review_late",
        "督办后出具意见",
        None,
        CO_GROUP,
        "joint_review/co_review",
        doc="未规定无回复视为同意的，协办部门在督办后必须出具意见。",
    )
    inner.script(
        "co_record",
        "登记协办意见",
        None,
        "co_review = {'department': co_review['department'], 'verdict': verdict, 'conditions': conditions, "
        f"'reasons': reasons, 'deemed': False}}\nend_limit({CO_STAGE})",
    )
    inner.end("co_end", "意见已反馈")
    inner.flow("co_start", "co_clock")
    inner.flow("co_clock", "co_review_task")
    inner.flow("co_review_task", "co_record")
    inner.flow("co_overdue", "co_overdue_alert")
    inner.flow("co_overdue_alert", "co_consent_gw")
    inner.flow("co_consent_gw", "co_deemed_consent", "no_reply_consent", "视为同意")
    inner.flow("co_consent_gw", "co_review_late", name="督办后出具", default=True)
    inner.flow("co_review_late", "co_record")
    inner.flow("co_record", "co_end")
    inner.flow("co_deemed_consent", "co_end")
    p.script(
        "dispatch",
        "分送协办部门（抄告）",
        "window",
        "\n".join(
            [
                "co_reviews = {d: {'department': d} for d in co_departments}",
                "dispatched_at = now()",
                "meeting_needed = False",
                "extension_requested = False",
                "extension_approved = False",
                "extension_reason = ''",
                "veto_resolved = False",
            ]
        ),
        doc="一次受理后同步分送各协办部门（在时限监控分支之后设置，案件数据快照始终为最新值）。",
    )
    p.flow("watch_split", "dispatch")
    p.flow("dispatch", "co_review_round")

    # -- the lead department collects, meets, decides
    p.script(
        "collect_opinions",
        "汇总协办意见",
        "lead",
        "\n".join(
            [
                "vetoes = [r['department'] for r in co_reviews.values() if r.get('verdict') == 'veto']",
                "all_conditions = [c for r in co_reviews.values() for c in r.get('conditions') or []]",
            ]
        ),
        doc="逐部门登记同意、附条件同意或否决意见。",
    )
    p.flow("co_review_round", "collect_opinions")
    p.user(
        "lead_review",
        "牵头部门综合审查",
        "lead",
        APPROVER,
        "joint_review/lead_review",
        doc="综合各协办部门意见；有否决意见的，须召开联审会议或者会签协调。",
    )
    p.flow("collect_opinions", "lead_review")
    p.gateway("meeting_gw", "联审会议/会签？", "lead")
    p.flow("lead_review", "meeting_gw")
    p.user(
        "joint_meeting",
        "联审会议/会签",
        "lead",
        APPROVER,
        "joint_review/joint_meeting",
        props={
            "stage": "joint_meeting",
            "statutory_limit": "5wd",
            "promised_limit": "3wd",
            "limit_basis": "本地并联审批规则",
        },
        doc="牵头部门组织协办部门召开联审会议或者会签，协调否决和附条件意见。",
    )
    p.flow("meeting_gw", "joint_meeting", "len(vetoes) > 0 or meeting_needed", "需要")
    p.gateway("meeting_merge", None, "lead")
    p.flow("meeting_gw", "meeting_merge", default=True)
    p.flow("joint_meeting", "meeting_merge")
    p.gateway("extension_gw", "需延期？", "lead")
    p.flow("meeting_merge", "extension_gw")
    p.user(
        "approve_extension",
        "本级人民政府负责人批准延期",
        "lead",
        "leader@${government}",
        "joint_review/approve_extension",
        doc="四十五日内不能办结的，经本级人民政府负责人批准，可以延长十五日，并告知申请人理由（第42条第2款）。",
    )
    p.flow("extension_gw", "approve_extension", "extension_requested", "申请延期")
    p.gateway("extension_approved_gw", "批准？", "lead")
    p.flow("approve_extension", "extension_approved_gw")
    p.script(
        "extend",
        "延长15个工作日并告知申请人",
        "lead",
        "extend_limit('case', '15wd', '行政许可法第42条第2款', extension_approver)\n"
        "extension_notice = {'by': '15wd', 'reason': extension_reason, 'issued_at': now()}",
    )
    p.flow("extension_approved_gw", "extend", "extension_approved", "批准")
    p.gateway("extension_merge", None, "lead")
    p.flow("extension_approved_gw", "extension_merge", default=True)
    p.flow("extend", "extension_merge")
    p.flow("extension_gw", "extension_merge", default=True)
    p.user(
        "decide",
        "牵头部门作出决定",
        "lead",
        APPROVER,
        "joint_review/decide",
        props={
            "stage": "decide",
            "statutory_limit": "10wd",
            "promised_limit": "5wd",
            "limit_basis": "行政许可法第42条第2款",
        },
        doc="统一作出准予或者不予许可的决定；不予许可的说明理由并告知复议、诉讼权利（第38条）。",
    )
    stage_timers(p, "decide", "'decide'", "决定")
    p.flow("extension_merge", "decide")
    p.script(
        "decided",
        "记录决定，停止办理计时",
        "lead",
        "\n".join(
            [
                "decided_at = now()",
                "end_limit('case')",
                "if decision == 'approve' and len(vetoes) > 0 and not veto_resolved:",
                "    alert('approve_despite_veto', 'case', '存在未经联审会议化解的否决意见：' + '、'.join(vetoes))",
            ]
        ),
    )
    p.flow("decide", "decided")
    p.throw_signal("decided_signal", "决定已作出", "lead", "sig_joint_decided")
    p.flow("decided", "decided_signal")
    p.gateway("watch_join", None, "lead", "parallelGateway")
    p.flow("decided_signal", "watch_join")
    p.flow("case_watch", "watch_join")
    p.gateway("result_gw", "决定结果？", "lead")
    p.flow("watch_join", "result_gw")
    p.user(
        "deliver",
        "制发并送达许可证件",
        "window",
        CLERK,
        "approval/deliver",
        props={
            "stage": "deliver",
            "statutory_limit": "10wd",
            "promised_limit": "3wd",
            "limit_basis": "行政许可法第44条",
        },
        doc="自作出决定之日起十日内颁发、送达许可证件（第44条）。",
    )
    p.flow("result_gw", "deliver", "decision == 'approve'", "准予")
    p.end("approved_end", "准予许可，已送达", "window")
    p.flow("deliver", "approved_end")
    p.user(
        "deliver_denial",
        "送达不予许可决定书",
        "window",
        CLERK,
        "approval/deliver_denial",
        doc="说明理由并告知申请行政复议或者提起行政诉讼的权利（第38条第2款）。",
    )
    p.end("denied_end", "不予许可", "window")
    p.flow("result_gw", "deliver_denial", name="不予许可", default=True)
    p.flow("deliver_denial", "denied_end")
    return p
