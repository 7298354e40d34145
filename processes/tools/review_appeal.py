"""processes/review_appeal.bpmn — 行政复议 (administrative review appeal), 行政复议法 (2023)."""

from __future__ import annotations

from processes.tools.bpmn_builder import Process
from processes.tools.procedure_parts import case_watch, stage_timers

OFFICE, LEADER = "appeal_officer@${department}", "leader@${department}"
DECISION_TYPES = ("change", "revoke", "confirm_illegal", "order_performance", "confirm_void", "uphold",
                  "reject_request", "agreement_liability", "compensation")  # fmt: skip


def build() -> Process:
    p = Process(
        "review_appeal",
        "行政复议案件办理",
        (
            "行政复议：申请（知道行政行为之日起60日内，第20条）→ 5日内受理审查，期满未决定不予受理的视为受理（第30条）"
            "→ 补正（5日内一次性书面通知，申请人10日内补正，无正当理由逾期视为放弃，第31条）→ 普通程序（7日内发送副本，"
            "被申请人10日内答复，第48条）或简易程序（3日/5日，第53-54条）→ 重大疑难复杂案件听证（5日前通知，第50-51条）"
            "→ 调解、和解（第73-74条）→ 决定（普通程序60日，经批准延长不超过30日并书面告知；简易程序30日，第62条）"
            "→ 决定类型（第63-72条）→ 送达。3、5、7、10日按工作日计算，其余为自然日（第88条）。"
        ),
        "http://govflow.example/procedures/review_appeal",
    )
    p.lane("office", "行政复议机构", "行政复议人员 appeal_officer@${department}")
    p.lane("leader", "复议机关负责人", "负责人 leader@${department}：批准延期、作出决定（第61条）")
    p.lane("supervision", "电子监察", "时限监控与预警（系统）")
    p.message("msg_supplement_received", "supplement_received")
    p.message("msg_reply_received", "reply_received")
    p.signal("sig_review_decided", "review_decided")

    p.start("application_received", "收到复议申请", "office", doc="书面或口头申请（第22条）；申请期限60日（第20条）。")
    p.script(
        "register",
        "登记申请",
        "office",
        "\n".join(
            [
                "received_at = now()",
                "accept_outcome = ''",
                "procedure = 'normal'",
                "major_complex = False",
                "missing_items = []",
                "refuse_reason = ''",
                "competent_body = ''",
            ]
        ),
        doc="登记收到申请的时间；受理审查期限自收到申请之日起计算（第30条）。",
    )
    p.user(
        "acceptance_review",
        "受理审查（5日）",
        "office",
        OFFICE,
        "review_appeal/acceptance_review",
        props={
            "stage": "accept",
            "statutory_limit": "5wd",
            "promised_limit": "3wd",
            "limit_basis": "行政复议法第30条",
        },
        doc=(
            "收到申请后5日内审查：符合第30条第1款的受理；不符合的决定不予受理并说明理由，不属于本机关管辖的告知有管辖权的"
            "复议机关；材料不齐全的5日内书面通知补正（第31条）。"
        ),
    )
    stage_timers(p, "acceptance_review", "'accept'", "受理审查", levels=("yellow",))
    p.boundary_timer(
        "accept_lapsed",
        "审查期限届满",
        "acceptance_review",
        "deadline('accept', 'statutory')",
        interrupting=True,
        doc="审查期限届满，未作出不予受理决定的，审查期限届满之日起视为受理（第30条第3款）。",
    )
    p.script(
        "deemed_accepted",
        "视为受理并督办",
        "supervision",
        "accept_outcome = 'deemed_accepted'\n"
        "alert('red_plus', 'accept', '受理审查期限届满未作出决定，依法视为受理（行政复议法第30条）')",
    )
    p.flow("application_received", "register")
    p.flow("register", "acceptance_review")
    p.flow("accept_lapsed", "deemed_accepted")
    p.gateway("accept_gw", "审查结论？", "office")
    p.flow("acceptance_review", "accept_gw")

    p.script(
        "refusal",
        "不予受理决定（说明理由）",
        "office",
        "refusal = {'reason': refuse_reason, 'competent_body': competent_body, 'issued_at': now()}",
        doc="不予受理决定说明理由；不属于本机关管辖的，告知有管辖权的行政复议机关（第30条第2款）。",
    )
    p.end("refused", "不予受理", "office")
    p.flow("accept_gw", "refusal", "accept_outcome == 'refuse'", "不予受理")
    p.flow("refusal", "refused")
    p.script(
        "supplement_notice",
        "书面通知补正（一次性载明）",
        "office",
        "supplement_due = workdays_after(10)\n"
        "supplement_notice = {'items': missing_items, 'issued_at': now(), 'due': supplement_due}",
        doc="补正通知一次性载明需要补正的事项；申请人自收到通知之日起十日内补正（第31条；10日为工作日，第88条）。",
    )
    p.flow("accept_gw", "supplement_notice", "accept_outcome == 'supplement'", "需补正")
    p.gateway("await_supplement", "等待补正", "office", "eventBasedGateway")
    p.flow("supplement_notice", "await_supplement")
    p.catch_message(
        "supplement_in",
        "收到补正材料",
        "office",
        "msg_supplement_received",
        doc="收到补正材料后，依照第30条重新审查（第31条第3款）。",
    )
    p.timer("supplement_timeout", "补正期限届满", "office", "supplement_due")
    p.script(
        "abandoned",
        "视为放弃复议申请，记录在案",
        "office",
        "outcome = 'abandoned'",
        doc="无正当理由逾期不补正的，视为申请人放弃行政复议申请，并记录在案（第31条第2款）。",
    )
    p.end("abandoned_end", "视为放弃申请", "office")
    p.flow("await_supplement", "supplement_in")
    p.flow("await_supplement", "supplement_timeout")
    p.flow("supplement_in", "acceptance_review")
    p.flow("supplement_timeout", "abandoned")
    p.flow("abandoned", "abandoned_end")

    # -- accepted: the procedure decides the limits (第48、54、62条)
    p.gateway("accepted_merge", None, "office")
    p.flow("accept_gw", "accepted_merge", name="受理", default=True)
    p.flow("deemed_accepted", "accepted_merge")
    p.gateway("procedure_gw", "审理程序？", "office")
    p.flow("accepted_merge", "procedure_gw")
    p.script(
        "simplified_limits",
        "简易程序：3日/5日/30日",
        "office",
        "\n".join(
            [
                "limits = dict(limits)",
                "limits['case'] = {'statutory': '30d', 'promised': '20d', 'basis': '行政复议法第62条第2款'}",
                "limits['copy'] = {'statutory': '3wd', 'promised': '2wd', 'basis': '行政复议法第54条'}",
                "reply_days = 5",
            ]
        ),
        doc="简易程序：受理之日起3日内发送副本，被申请人5日内答复（第54条），30日内作出决定（第62条第2款）。",
    )
    p.script(
        "normal_limits",
        "普通程序：7日/10日/60日",
        "office",
        "reply_days = 10",
        doc="普通程序：受理之日起7日内发送副本，被申请人10日内答复（第48条），60日内作出决定（第62条第1款）。",
    )
    p.flow("procedure_gw", "simplified_limits", "procedure == 'simplified'", "简易程序")
    p.flow("procedure_gw", "normal_limits", name="普通程序", default=True)
    p.gateway("procedure_merge", None, "office")
    p.flow("simplified_limits", "procedure_merge")
    p.flow("normal_limits", "procedure_merge")
    p.script(
        "accepted",
        "受理，开始复议期限",
        "office",
        "accepted_at = now()\nstart_limit('case', statutory='60d', promised='45d', basis='行政复议法第62条')",
        doc="复议期限自受理申请之日起计算（第62条）。",
    )
    p.flow("procedure_merge", "accepted")
    p.gateway("watch_split", None, "office", "parallelGateway")
    p.flow("accepted", "watch_split")
    case_watch(
        p,
        "case_watch",
        "复议期限监控（受理至决定）",
        "sig_review_decided",
        doc="普通程序60日（延长不超过30日）、简易程序30日（第62条）的黄牌、红牌、督办；中止期间不计算（第39条）。",
    )
    p.flow("watch_split", "case_watch")

    # -- copy to the respondent and its reply (第48、54、70条)
    p.user(
        "send_copy",
        "向被申请人发送申请书副本",
        "office",
        OFFICE,
        "review_appeal/send_copy",
        props={
            "stage": "copy",
            "statutory_limit": "7wd",
            "promised_limit": "3wd",
            "limit_basis": "行政复议法第48条、第54条",
        },
        doc="普通程序受理之日起7日内、简易程序3日内发送申请书副本或者申请笔录复印件（第48条、第54条）。",
    )
    stage_timers(p, "send_copy", "'copy'", "发送副本")
    p.script(
        "review_defaults",
        "审理登记",
        "office",
        "\n".join(
            [
                "hearing_requested = False",
                "reply_missing = False",
                "suspension_needed = False",
                "extension_requested = False",
                "extension_approved = False",
                "extension_reason = ''",
                "mediation_possible = False",
                "outcome = ''",
            ]
        ),
        doc="受理后审理环节的初始记录（在时限监控分支之后设置，案件数据快照始终为最新值）。",
    )
    p.flow("watch_split", "review_defaults")
    p.flow("review_defaults", "send_copy")
    p.script(
        "copy_sent",
        "等待书面答复（10日/5日）",
        "office",
        "reply_due = workdays_after(reply_days)",
        doc="被申请人自收到副本之日起10日内（简易程序5日内）提出书面答复并提交证据、依据（第48条、第54条）。",
    )
    p.flow("send_copy", "copy_sent")
    p.gateway("await_reply", "等待被申请人答复", "office", "eventBasedGateway")
    p.flow("copy_sent", "await_reply")
    p.catch_message("reply_in", "收到书面答复及证据", "office", "msg_reply_received")
    p.timer("reply_timeout", "答复期限届满", "office", "reply_due")
    p.script("record_reply", "登记答复和证据", "office", "reply = reply_received\nreply_missing = False")
    p.script(
        "no_reply",
        "未答复：视为没有证据、依据",
        "office",
        "reply_missing = True\n"
        "alert('reply_missing', 'case',\n"
        "      '被申请人未按期提出书面答复、提交证据，视为该行政行为没有证据、依据（第70条）')",
        doc="被申请人不按期答复、提交证据的，视为该行政行为没有证据、依据（第70条）。",
    )
    p.gateway("reply_merge", None, "office")
    p.flow("await_reply", "reply_in")
    p.flow("await_reply", "reply_timeout")
    p.flow("reply_in", "record_reply")
    p.flow("reply_timeout", "no_reply")
    p.flow("record_reply", "reply_merge")
    p.flow("no_reply", "reply_merge")

    # -- hearing (第50-51条)
    p.gateway("hearing_gw", "组织听证？", "office")
    p.flow("reply_merge", "hearing_gw")
    p.user(
        "hearing_notice",
        "书面通知听证（5日前）",
        "office",
        OFFICE,
        "review_appeal/hearing_notice",
        doc="审理重大、疑难、复杂的案件应当组织听证；于举行听证的五日前书面通知当事人（第50-51条）。",
    )
    p.flow("hearing_gw", "hearing_notice", "major_complex or hearing_requested", "听证")
    p.script(
        "hearing_notice_check",
        "核对通知是否提前5日",
        "office",
        "hearing_notice_ok = hearing_date >= workdays_after(5, notice_on)[0:10]\n"
        "if not hearing_notice_ok:\n"
        "    alert('hearing_notice_short', 'case', '听证通知未在举行听证5日前送达（行政复议法第51条）')",
    )
    p.flow("hearing_notice", "hearing_notice_check")
    p.gateway("hearing_notice_gw", "通知期限足够？", "office")
    p.flow("hearing_notice_check", "hearing_notice_gw")
    p.flow("hearing_notice_gw", "hearing_notice", "not hearing_notice_ok", "不足5日")
    p.user(
        "hearing",
        "举行听证",
        "office",
        OFFICE,
        "review_appeal/hearing",
        doc="一名复议人员主持、两名以上任听证员、一名记录员；申请人无正当理由拒不参加的视为放弃听证权利（第50-51条）。",
    )
    p.flow("hearing_notice_gw", "hearing", default=True)
    p.gateway("hearing_merge", None, "office")
    p.flow("hearing_gw", "hearing_merge", default=True)
    p.flow("hearing", "hearing_merge")

    # -- examination, suspension, extension, mediation
    p.user(
        "examine",
        "审理",
        "office",
        OFFICE,
        "review_appeal/examine",
        doc="听取当事人意见并记录在案（第49条）；审查行政行为的合法性和适当性；可以调解（第73条）。",
    )
    p.flow("hearing_merge", "examine")
    p.gateway("suspension_gw", "中止？", "office")
    p.flow("examine", "suspension_gw")
    p.user(
        "suspension",
        "复议中止（书面告知当事人）",
        "office",
        OFFICE,
        "review_appeal/suspension",
        props={"clock_stop": "suspension", "clock_stop_basis": "行政复议法第39条"},
        doc="有第39条情形的中止审理，原因消除后及时恢复；中止、恢复均书面告知当事人；中止期间不计入复议期限。",
    )
    p.flow("suspension_gw", "suspension", "suspension_needed", "中止")
    p.flow("suspension", "examine")
    p.gateway("extension_gw", "需延期？", "office")
    p.flow("suspension_gw", "extension_gw", default=True)
    p.user(
        "approve_extension",
        "负责人批准延期（不超过30日）",
        "leader",
        LEADER,
        "review_appeal/approve_extension",
        doc="情况复杂不能在规定期限内作出决定的，经复议机构负责人批准可以适当延长，并书面告知当事人，最多不超过30日（第62条）。",
    )
    p.flow("extension_gw", "approve_extension", "extension_requested and procedure == 'normal'", "申请延期")
    p.gateway("extension_approved_gw", "批准？", "leader")
    p.flow("approve_extension", "extension_approved_gw")
    p.script(
        "extend",
        "延长并书面告知当事人",
        "leader",
        "extend_limit('case', '30d', '行政复议法第62条第1款', extension_approver)\n"
        "extension_notice = {'by': '30d', 'reason': extension_reason, 'issued_at': now()}",
    )
    p.flow("extension_approved_gw", "extend", "extension_approved", "批准")
    p.gateway("extension_merge", None, "office")
    p.flow("extension_approved_gw", "extension_merge", default=True)
    p.flow("extend", "extension_merge")
    p.flow("extension_gw", "extension_merge", default=True)
    p.gateway("mediation_gw", "调解或和解？", "office")
    p.flow("extension_merge", "mediation_gw")
    p.user(
        "mediation",
        "调解、和解",
        "office",
        OFFICE,
        "review_appeal/mediation",
        doc="调解达成协议的制作调解书，经各方签字并盖章即具有法律效力（第73条）；和解后申请人撤回申请，终止复议（第74条）。",
    )
    p.flow("mediation_gw", "mediation", "mediation_possible", "调解/和解")
    p.gateway("mediation_result_gw", "调解结果", "office")
    p.flow("mediation", "mediation_result_gw")
    p.script(
        "mediation_document",
        "制作调解书（签字盖章生效）",
        "office",
        "outcome = 'mediation'\nclosed_at = now()\nend_limit('case')",
    )
    p.script(
        "withdrawn",
        "准予撤回，终止复议",
        "office",
        "outcome = 'withdrawn'\nclosed_at = now()\nend_limit('case')",
        doc="当事人达成和解，申请人撤回申请，复议机关决定终止复议（第74条、第41条）。",
    )
    p.flow("mediation_result_gw", "mediation_document", "mediation_result == 'agreement'", "达成调解")
    p.flow("mediation_result_gw", "withdrawn", "mediation_result == 'settlement_withdrawal'", "和解撤回")

    # -- decision (第61-72条)
    p.user(
        "decide",
        "作出行政复议决定",
        "leader",
        LEADER,
        "review_appeal/decide",
        doc=(
            "经复议机关负责人同意或者集体讨论通过，以复议机关名义作出决定（第61条）：变更、撤销、确认违法、责令履行、"
            "确认无效、维持、驳回请求、行政协议责任、赔偿（第63-72条）；不得作出对申请人更为不利的变更（第63条）。"
        ),
    )
    p.flow("mediation_gw", "decide", default=True)
    p.flow("mediation_result_gw", "decide", name="调解不成", default=True)
    p.gateway(
        "art70_gw",
        "答复缺失时决定合法？",
        "leader",
        doc="被申请人未答复的，视为没有证据、依据，不得维持或者驳回（第70条）。",
    )
    p.flow("decide", "art70_gw")
    p.script(
        "art70_violation",
        "违反第70条：退回重新决定",
        "supervision",
        "alert('decision_against_art70', 'case', '被申请人未答复视为没有证据，不得维持或者驳回（行政复议法第70条）')",
    )
    p.flow("art70_gw", "art70_violation", "reply_missing and decision_type in ('uphold', 'reject_request')", "违反")
    p.flow("art70_violation", "decide")
    p.script(
        "decided", "记录决定，停止复议计时", "leader", "outcome = 'decided'\ndecided_at = now()\nend_limit('case')"
    )
    p.flow("art70_gw", "decided", default=True)
    p.gateway("closing_merge", None, "leader")
    p.flow("decided", "closing_merge")
    p.flow("mediation_document", "closing_merge")
    p.flow("withdrawn", "closing_merge")
    p.throw_signal("decided_signal", "复议结案", "leader", "sig_review_decided")
    p.flow("closing_merge", "decided_signal")
    p.gateway("watch_join", None, "leader", "parallelGateway")
    p.flow("decided_signal", "watch_join")
    p.flow("case_watch", "watch_join")
    p.gateway("result_gw", "结案方式", "leader")
    p.flow("watch_join", "result_gw")
    p.user(
        "deliver",
        "送达行政复议决定书",
        "office",
        OFFICE,
        "review_appeal/deliver",
        doc="制作行政复议决定书，加盖复议机关印章，送达当事人（第75条）。",
    )
    p.flow("result_gw", "deliver", "outcome == 'decided'", "决定")
    p.end("decided_end", "复议决定已送达", "office")
    p.flow("deliver", "decided_end")
    p.end("mediated_end", "调解结案", "office")
    p.flow("result_gw", "mediated_end", "outcome == 'mediation'", "调解")
    p.end("withdrawn_end", "终止复议（和解撤回）", "office")
    p.flow("result_gw", "withdrawn_end", name="和解撤回", default=True)
    return p
