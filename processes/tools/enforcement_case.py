"""processes/enforcement_case.bpmn — 行政处罚 (enforcement case), 行政处罚法 (2021)."""

from __future__ import annotations

from processes.tools.bpmn_builder import Process
from processes.tools.enforcement_execution import add_execution
from processes.tools.procedure_parts import case_watch, stage_timers

OFFICER, LEGAL, LEADER = "officer@${department}", "legal_reviewer@${department}", "leader@${department}"


def build() -> Process:
    p = Process(
        "enforcement_case",
        "行政处罚案件办理",
        (
            "行政处罚的简易程序（第51-53条）与普通程序：立案（第54条）→ 调查取证（执法人员不少于两人，第42、55条）"
            "→ 调查终结报告 → 告知拟处罚及陈述、申辩、听证权利（第44-45条）→ 听证（第63-65条）→ 法制审核（第58条，"
            "未经审核或审核未通过不得作出决定）→ 集体讨论（第57条第2款）→ 立案之日起90日内作出决定（第60条）→ "
            "7日内送达（第61条）→ 15日内到指定银行缴纳，罚缴分离（第67条）→ "
            "逾期每日加处3%罚款、不超过罚款数额（第72条）"
            "→ 申请人民法院强制执行 → 结案归档（第47条全过程记录）。2、3、5、7日期限按工作日计算，15日、90日为自然日"
            "（第85条）。当事人（applicant）由事项目录办件填入。"
        ),
        "http://govflow.example/procedures/enforcement_case",
    )
    p.lane("officer", "执法人员", "执法人员 officer@${department}（不少于两人，第42条）")
    p.lane("legal", "法制审核与听证", "法制审核人员 legal_reviewer@${department}；听证由非本案调查人员主持（第64条）")
    p.lane("leader", "机关负责人", "机关负责人 leader@${department}：立案、集体讨论、决定、结案")
    p.lane("supervision", "电子监察", "时限监控与预警（系统）")
    p.message("msg_statement_received", "statement_received")
    p.message("msg_payment_received", "payment_received")
    p.signal("sig_enforcement_decided", "enforcement_decided")

    p.start("clue_received", "发现违法线索", "officer", doc="投诉、举报、检查发现或者移送的案件线索（第54条）。")
    p.script(
        "register_clue",
        "登记案源",
        "officer",
        "\n".join(
            [
                "clue_at = now()",
                "procedure = ''",
                "penalty_kind = 'fine'",
                "proposed_fine = 0",
                "proposed_penalties = []",
                "fine_amount = 0",
                "total_paid = 0",
                "late_surcharge = 0",
            ]
        ),
        doc="登记案件来源，启动全过程记录（行政处罚法第47条）。",
    )
    p.user(
        "preliminary",
        "核查线索、选择程序",
        "officer",
        OFFICER,
        "enforcement_case/preliminary",
        props={
            "stage": "filing",
            "statutory_limit": "15wd",
            "promised_limit": "7wd",
            "limit_basis": "行政处罚法第54条；市场监督管理行政处罚程序规定第18条",
        },
        doc=(
            "核查线索：违法事实确凿、有法定依据，对公民处二百元以下、对法人或者其他组织处三千元以下罚款或者警告的，"
            "可以适用简易程序当场处罚（第51条）；其余适用普通程序，符合立案标准的及时立案（第54条）。"
        ),
    )
    stage_timers(p, "preliminary", "'filing'", "立案核查")
    p.flow("clue_received", "register_clue")
    p.flow("register_clue", "preliminary")
    p.gateway("procedure_gw", "适用简易程序？", "officer")
    p.flow("preliminary", "procedure_gw")

    # -- summary procedure (第51-53条)
    summary = (
        "procedure == 'summary' and (penalty_kind == 'warning' or "
        "(applicant['kind'] == 'person' and proposed_fine <= 200) or "
        "(applicant['kind'] == 'organisation' and proposed_fine <= 3000))"
    )
    p.user(
        "summary_decision",
        "当场作出处罚决定（简易程序）",
        "officer",
        OFFICER,
        "enforcement_case/summary_decision",
        doc=(
            "出示执法证件，填写预定格式、编有号码的行政处罚决定书并当场交付当事人；载明复议、诉讼途径和期限；"
            "报所属行政机关备案（第52条）。公民200元、法人或其他组织3000元以上的罚款不得适用简易程序（第51条）。"
        ),
    )
    p.flow("procedure_gw", "summary_decision", summary, "简易程序")
    p.script(
        "summary_decided",
        "当场交付决定书并备案",
        "officer",
        "decided_at = now()\ndelivered_at = decided_at\nprocedure_used = 'summary'",
        doc="当场交付即为送达（第52条）；当事人依照第67-69条履行（第53条）。",
    )
    p.flow("summary_decision", "summary_decided")

    # -- general procedure: filing (第54条)
    p.user(
        "file_case",
        "立案审批",
        "leader",
        LEADER,
        "enforcement_case/file_case",
        doc="符合立案标准的，行政机关应当及时立案（第54条第2款）；立案之日起计算90日办案期限（第60条）。",
    )
    p.flow("procedure_gw", "file_case", name="普通程序", default=True)
    p.gateway("filed_gw", "立案？", "leader")
    p.flow("file_case", "filed_gw")
    p.end("not_filed", "不予立案", "leader", doc="不符合立案标准的，不予立案并记录理由。")
    p.flow("filed_gw", "not_filed", "not filed", "不予立案")
    p.script(
        "case_filed",
        "立案，开始90日办案期限",
        "leader",
        "\n".join(
            [
                "filed_at = now()",
                "procedure_used = 'general'",
                "start_limit('case', statutory='90d', promised='60d', basis='行政处罚法第60条')",
            ]
        ),
        doc="行政机关应当自行政处罚案件立案之日起九十日内作出行政处罚决定（第60条；自然日，第85条）。",
    )
    p.flow("filed_gw", "case_filed", name="立案", default=True)
    p.gateway("watch_split", None, "leader", "parallelGateway")
    p.flow("case_filed", "watch_split")
    case_watch(
        p,
        "case_watch",
        "办案时限监控（立案至决定）",
        "sig_enforcement_decided",
        doc="立案之日起90日内作出决定（行政处罚法第60条）：承诺时限与法定时限的黄牌、红牌、督办。",
    )
    p.flow("watch_split", "case_watch")

    # -- investigation (第42、55、56条)
    p.user(
        "investigate",
        "调查取证",
        "officer",
        OFFICER,
        "enforcement_case/investigate",
        doc=(
            "全面、客观、公正地调查，收集证据（第54条）；执法人员不少于两人，出示执法证件，询问或者检查制作笔录"
            "（第42条、第55条）。"
        ),
    )
    p.script(
        "investigation_defaults",
        "办案登记",
        "officer",
        "\n".join(
            [
                "evidence_held = False",
                "legal_review_grounds = []",
                "complex_or_serious = False",
                "hearing_requested = False",
                "hearing_held = False",
                "hearing_waived = False",
                "statement = ''",
            ]
        ),
        doc="立案后办案环节的初始记录（在时限监控分支之后设置，案件数据快照始终为最新值）。",
    )
    p.flow("watch_split", "investigation_defaults")
    p.flow("investigation_defaults", "investigate")
    p.gateway("evidence_gw", "先行登记保存？", "officer")
    p.flow("investigate", "evidence_gw")
    p.user(
        "evidence_decision",
        "登记保存物品处理决定（7日内）",
        "leader",
        LEADER,
        "enforcement_case/evidence_decision",
        props={
            "stage": "evidence_hold",
            "statutory_limit": "7wd",
            "promised_limit": "5wd",
            "limit_basis": "行政处罚法第56条",
        },
        doc="证据可能灭失或者以后难以取得的，经负责人批准先行登记保存，并应当在七日内及时作出处理决定（第56条）。",
    )
    stage_timers(p, "evidence_decision", "'evidence_hold'", "登记保存")
    p.flow("evidence_gw", "evidence_decision", "evidence_held", "已登记保存")
    p.gateway("evidence_merge", None, "officer")
    p.flow("evidence_gw", "evidence_merge", default=True)
    p.flow("evidence_decision", "evidence_merge")
    p.user(
        "investigation_report",
        "调查终结报告",
        "officer",
        OFFICER,
        "enforcement_case/investigation_report",
        doc="调查终结，提出处理意见：拟处罚的种类、数额、事实、理由和依据；是否属于第58条应当法制审核的情形。",
    )
    p.flow("evidence_merge", "investigation_report")

    # -- notice of rights, statement and defence (第44、45、62条)
    p.user(
        "notice_of_rights",
        "告知拟处罚及陈述申辩、听证权利",
        "officer",
        OFFICER,
        "enforcement_case/notice_of_rights",
        doc=(
            "作出决定之前，告知当事人拟作出的行政处罚内容及事实、理由、依据，并告知陈述、申辩、要求听证等权利"
            "（第44条）；未告知或者拒绝听取陈述申辩的，不得作出决定（第62条）。"
        ),
    )
    p.flow("investigation_report", "notice_of_rights")
    p.script(
        "statement_period",
        "陈述申辩期（5个工作日）",
        "officer",
        "\n".join(
            [
                "statement_due = workdays_after(5)",
                "notified_fine = proposed_fine",
                "notified_penalties = list(proposed_penalties)",
            ]
        ),
        doc=(
            "当事人要求听证的，应当在告知后五日内提出（第64条第1项；5日按工作日计算，第85条）。记录告知的拟处罚内容"
            "（notified_fine、notified_penalties）：决定不得超出告知内容而未重新告知（第44条、第45条、第62条）。"
        ),
    )
    p.flow("notice_of_rights", "statement_period")
    p.gateway("await_statement", "等待陈述申辩", "officer", "eventBasedGateway")
    p.flow("statement_period", "await_statement")
    p.catch_message(
        "statement_in",
        "收到陈述申辩/听证申请",
        "officer",
        "msg_statement_received",
        doc=(
            "当事人的陈述、申辩或者听证申请（消息 statement_received）；"
            "行政机关必须复核，不得因申辩加重处罚（第45条）。"
        ),
    )
    p.timer("statement_timeout", "陈述申辩期届满", "officer", "statement_due")
    p.script(
        "no_statement",
        "期满未陈述申辩、未要求听证",
        "officer",
        "statement_waived = True",
        doc="期满未提出的，视为放弃陈述、申辩和听证权利。",
    )
    p.gateway("statement_merge", None, "officer")
    p.flow("await_statement", "statement_in")
    p.flow("await_statement", "statement_timeout")
    p.script(
        "record_statement",
        "记录陈述申辩，复核",
        "officer",
        "statement = statement_received.get('statement', '')\n"
        "hearing_requested = bool(statement_received.get('hearing_requested', False))",
        doc="对当事人提出的事实、理由和证据应当进行复核；成立的应当采纳（第45条）。",
    )
    p.flow("statement_in", "record_statement")
    p.flow("record_statement", "statement_merge")
    p.flow("statement_timeout", "no_statement")
    p.flow("no_statement", "statement_merge")

    # -- hearing (第63-65条)
    p.gateway("hearing_gw", "要求听证？", "officer")
    p.flow("statement_merge", "hearing_gw")
    p.user(
        "hearing_notice",
        "发出听证通知（举行7日前）",
        "legal",
        LEGAL,
        "enforcement_case/hearing_notice",
        doc="行政机关应当在举行听证的七日前，通知当事人及有关人员听证的时间、地点（第64条第2项）。",
    )
    p.flow("hearing_gw", "hearing_notice", "hearing_requested", "要求听证")
    p.script(
        "hearing_notice_check",
        "核对通知是否提前7日",
        "legal",
        "hearing_notice_ok = hearing_date >= workdays_after(7, notice_on)[0:10]\n"
        "if not hearing_notice_ok:\n"
        "    alert('hearing_notice_short', 'case', '听证通知未在举行听证7日前送达（行政处罚法第64条）')",
        doc="听证日期须在通知之日起7个工作日之后（第64条第2项、第85条）；否则重新确定听证日期。",
    )
    p.flow("hearing_notice", "hearing_notice_check")
    p.gateway("hearing_notice_gw", "通知期限足够？", "legal")
    p.flow("hearing_notice_check", "hearing_notice_gw")
    p.flow("hearing_notice_gw", "hearing_notice", "not hearing_notice_ok", "不足7日，重新通知")
    p.user(
        "hearing",
        "举行听证",
        "legal",
        LEGAL,
        "enforcement_case/hearing",
        doc=(
            "听证由非本案调查人员主持，公开举行，制作笔录（第64条）；当事人无正当理由拒不出席或者未经许可中途退出的，"
            "视为放弃听证权利（第64条第6项）；根据听证笔录作出决定（第65条）。"
        ),
    )
    p.flow("hearing_notice_gw", "hearing", name="通知合法", default=True)
    p.gateway("attended_gw", "当事人出席？", "legal")
    p.flow("hearing", "attended_gw")
    p.script("hearing_done", "听证笔录归卷", "legal", "hearing_held = True")
    p.script(
        "hearing_absent",
        "无正当理由不出席：视为放弃听证",
        "legal",
        "hearing_waived = True",
        doc="当事人及其代理人无正当理由拒不出席听证的，视为放弃听证权利，行政机关终止听证（第64条第6项）。",
    )
    p.flow("attended_gw", "hearing_done", "party_attended", "出席")
    p.flow("attended_gw", "hearing_absent", name="缺席", default=True)
    p.gateway("hearing_merge", None, "officer")
    p.flow("hearing_gw", "hearing_merge", default=True)
    p.flow("hearing_done", "hearing_merge")
    p.flow("hearing_absent", "hearing_merge")

    # -- legal review, a hard gate (第58条)
    p.gateway(
        "legal_review_gw",
        "需法制审核？",
        "legal",
        doc="涉及重大公共利益；直接关系重大权益且经过听证；疑难复杂；法律法规规定的（第58条）。",
    )
    p.flow("hearing_merge", "legal_review_gw")
    p.user(
        "legal_review",
        "法制审核",
        "legal",
        LEGAL,
        "enforcement_case/legal_review",
        doc="未经法制审核或者审核未通过的，不得作出决定（第58条）。",
    )
    p.flow("legal_review_gw", "legal_review", "len(legal_review_grounds) > 0 or hearing_held", "需要")
    p.gateway("legal_result_gw", "审核通过？", "legal")
    p.flow("legal_review", "legal_result_gw")
    p.user(
        "rectify",
        "按审核意见补充调查、修改",
        "officer",
        OFFICER,
        "enforcement_case/rectify",
        doc="法制审核未通过的，按审核意见补充调查或者修改处理意见后重新送审（第58条）。",
    )
    p.flow("legal_result_gw", "rectify", name="未通过", default=True)
    p.flow("rectify", "legal_review")
    p.gateway("legal_merge", None, "leader")
    p.flow("legal_result_gw", "legal_merge", "legal_review_result == 'pass'", "通过")
    p.flow("legal_review_gw", "legal_merge", default=True)

    # -- collective discussion and decision (第57、60条)
    p.gateway("collective_gw", "情节复杂或重大？", "leader")
    p.flow("legal_merge", "collective_gw")
    p.user(
        "collective_discussion",
        "负责人集体讨论",
        "leader",
        LEADER,
        "enforcement_case/collective_discussion",
        doc="对情节复杂或者重大违法行为给予行政处罚，行政机关负责人应当集体讨论决定（第57条第2款）。",
    )
    p.flow("collective_gw", "collective_discussion", "complex_or_serious", "是")
    p.gateway("collective_merge", None, "leader")
    p.flow("collective_gw", "collective_merge", default=True)
    p.flow("collective_discussion", "collective_merge")
    p.user(
        "decide",
        "作出行政处罚决定",
        "leader",
        LEADER,
        "enforcement_case/decide",
        doc=(
            "调查终结，负责人审查后分别作出：给予处罚、违法轻微不予处罚、违法事实不成立不予处罚、移送司法机关"
            "（第57条）；决定书载明第59条事项；不得因当事人陈述、申辩而给予更重的处罚（第45条）。"
        ),
    )
    p.flow("collective_merge", "decide")
    p.script(
        "decided",
        "记录决定，停止办案计时",
        "leader",
        "\n".join(
            [
                "decided_at = now()",
                "end_limit('case')",
            ]
        ),
        doc=(
            "立案之日起90日内作出决定（第60条）；决定超出告知内容（含法制审核后补充调查修改的拟罚款）的，"
            "电子监察规则 enforcement_without_notice 预警（第44条、第45条、第62条）。"
        ),
    )
    p.flow("decide", "decided")
    p.throw_signal("decided_signal", "决定已作出", "leader", "sig_enforcement_decided")
    p.flow("decided", "decided_signal")
    p.gateway("watch_join", None, "leader", "parallelGateway")
    p.flow("decided_signal", "watch_join")
    p.flow("case_watch", "watch_join")
    p.gateway("outcome_gw", "给予处罚？", "leader")
    p.flow("watch_join", "outcome_gw")

    add_execution(p)
    return p
