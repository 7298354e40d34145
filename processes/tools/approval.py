"""processes/approval.bpmn — 行政许可 (administrative licence), 行政许可法 (2019)."""

from __future__ import annotations

from processes.tools import approval_hearing as hearing
from processes.tools.bpmn_builder import Process
from processes.tools.procedure_parts import case_watch, stage_timers

LAW = "行政许可法"


def build() -> Process:
    p = Process(
        "approval",
        "行政许可审批",
        (
            "行政许可（即办件、承诺件）的法定程序：窗口受理（5个工作日，行政许可法第32条）→ 审查（第34-36条）→ "
            "决定（20个工作日，经负责人批准可延长10个工作日，第42条；特别程序不计入期限，第45条）→ "
            "10个工作日内送达许可证件（第44条）；不予许可说明理由并告知复议、诉讼权利（第38条）。"
            "期限以工作日计算（第82条）。案件数据由事项目录填入（govflow apply）：department、handling、limits、"
            "missing_materials、clock_stops、fee。"
        ),
        "http://govflow.example/procedures/approval",
    )
    p.lane("window", "综合受理窗口", "窗口人员 clerk@${department}：受理、补正告知、送达")
    p.lane("review", "审查", "审查人员 reviewer@${department}：审查、核查、特别程序")
    p.lane("approve", "审批决定", "审批人员 approver@${department}")
    p.lane("leader", "机关负责人", "机关负责人 leader@${department}：批准延期（第42条）")
    p.lane("supervision", "电子监察", "时限监控与预警（系统）")
    p.message("msg_supplement_received", "supplement_received")
    p.signal("sig_approval_decided", "approval_decided")

    # -- receipt and acceptance (第32条)
    p.start("received", "收到申请", "window", doc="申请人（或代办人）提交申请，事项目录已填入材料清单与时限。")
    p.script(
        "register",
        "登记收件",
        "window",
        "\n".join(
            [
                "notice_count = 0",
                "received_at = now()",
                "accept_outcome = ''",
                "refuse_reason = ''",
                "competent_agency = ''",
            ]
        ),
        doc="登记收件时间；受理或者不予受理均须出具加盖专用印章、注明日期的书面凭证（行政许可法第32条第2款）。",
    )
    p.user(
        "accept",
        "受理审查",
        "window",
        "clerk@${department}",
        "approval/accept",
        props={
            "stage": "accept",
            "statutory_limit": "5wd",
            "promised_limit": "1wd",
            "limit_basis": "行政许可法第32条第1款第4项",
        },
        doc=(
            "审查是否属于本机关职权范围、材料是否齐全并符合法定形式：受理；材料不齐全的当场或5日内一次告知"
            "需补正的全部内容；不属于本机关职权的即时不予受理并告知向有关行政机关申请；可当场更正的错误"
            "允许当场更正（行政许可法第32条）。"
        ),
    )
    stage_timers(p, "accept", "'accept'", "受理", levels=("yellow", "red"))
    p.boundary_timer(
        "accept_lapsed",
        "5日内未告知补正",
        "accept",
        "deadline('accept', 'statutory')",
        interrupting=True,
        doc="逾期不告知补正的，自收到申请材料之日起即为受理（行政许可法第32条第1款第4项）。",
    )
    p.script(
        "deemed_accepted",
        "视为受理并督办",
        "supervision",
        "accept_outcome = 'deemed_accepted'\n"
        "alert('red_plus', 'accept', '5个工作日内未作出受理决定，依法视为受理（行政许可法第32条）')",
        doc="行政许可法第32条第1款第4项：逾期不告知的，自收到申请材料之日起即为受理；同时红牌督办。",
    )
    p.gateway("accept_gw", "受理结论？", "window")
    p.flow("received", "register")
    p.flow("register", "accept")
    p.flow("accept", "accept_gw")
    p.flow("accept_lapsed", "deemed_accepted")

    p.script(
        "refuse_notice",
        "出具不予受理决定书",
        "window",
        "refusal = {'reason': refuse_reason, 'competent_agency': competent_agency, 'issued_at': now()}",
        doc="不予受理的书面凭证；不属于本机关职权范围的，告知申请人向有关行政机关申请（行政许可法第32条第1款第2项）。",
    )
    p.end("refused", "不予受理", "window")
    p.flow("accept_gw", "refuse_notice", "accept_outcome == 'refuse'", "不予受理")
    p.flow("refuse_notice", "refused")

    p.script(
        "one_time_notice",
        "一次性告知补正",
        "window",
        "\n".join(
            [
                "notice_count = notice_count + 1",
                "supplement_due = days_after(30)",
                "supplement_notice = {'items': missing_materials, 'issued_at': now(), 'due': supplement_due}",
                "if notice_count > 1:",
                "    alert('repeat_notice', 'accept',",
                "          '第' + str(notice_count) + '次补正告知：应一次告知需要补正的全部内容')",
            ]
        ),
        doc=(
            "一次告知申请人需要补正的全部内容（行政许可法第32条第1款第4项）；补正期限按办事指南为30日，"
            "逾期未补正的终止办理。再次告知补正的，电子监察预警。"
        ),
    )
    p.gateway(
        "await_supplement",
        "等待补正",
        "window",
        "eventBasedGateway",
        doc="补正期间办理时限尚未起算（受理之日起计算，行政许可法第42条）。",
    )
    p.catch_message(
        "supplement_in",
        "收到补正材料",
        "window",
        "msg_supplement_received",
        doc="申请人提交补正材料（消息 supplement_received），重新进行受理审查。",
    )
    p.timer("supplement_timeout", "补正期限届满", "window", "supplement_due")
    p.script(
        "supplement_lapsed",
        "逾期未补正，终止办理",
        "window",
        "closed_reason = 'supplement_lapsed'",
        doc="申请人逾期未补正，申请终止，退回材料并书面告知。",
    )
    p.end("lapsed", "申请终止（逾期未补正）", "window")
    p.flow("accept_gw", "one_time_notice", "accept_outcome == 'supplement'", "材料不全")
    p.flow("one_time_notice", "await_supplement")
    p.flow("await_supplement", "supplement_in")
    p.flow("await_supplement", "supplement_timeout")
    p.flow("supplement_in", "accept")
    p.flow("supplement_timeout", "supplement_lapsed")
    p.flow("supplement_lapsed", "lapsed")

    p.gateway("accepted_merge", None, "window")
    p.flow("accept_gw", "accepted_merge", name="受理", default=True)
    p.flow("deemed_accepted", "accepted_merge")
    p.script(
        "accepted",
        "出具受理凭证，开始计时",
        "window",
        "\n".join(
            [
                "accepted_at = now()",
                "acceptance_receipt = {'issued_at': accepted_at, 'outcome': accept_outcome or 'accept'}",
                f"start_limit('case', statutory='20wd', promised='10wd', basis='{LAW}第42条')",
            ]
        ),
        doc="出具加盖专用印章、注明日期的受理凭证（第32条第2款）；办理时限自受理之日起计算（第42条）。",
    )
    p.flow("accepted_merge", "accepted")
    p.gateway("watch_split", None, "window", "parallelGateway")
    p.flow("accepted", "watch_split")
    case_watch(
        p,
        "case_watch",
        "办理时限监控（受理至决定）",
        "sig_approval_decided",
        doc="承诺时限与法定时限（20个工作日，延长后30个工作日，行政许可法第42条）的黄牌、红牌、督办。",
    )
    p.flow("watch_split", "case_watch")

    # -- instant items (即办件, 第34条第2款)
    p.script(
        "handling_defaults",
        "办理登记",
        "window",
        "\n".join(
            [
                "needs_verification = False",
                "special_procedure = 'none'",
                "extension_requested = False",
                "extension_approved = False",
                "fee_charged = 0",
                *hearing.DEFAULTS,
            ]
        ),
        doc="受理后办理环节的初始记录（在时限监控分支之后设置，案件数据快照始终为最新值）。",
    )
    p.flow("watch_split", "handling_defaults")
    p.gateway("instant_gw", "即办件？", "window")
    p.flow("handling_defaults", "instant_gw")
    p.user(
        "decide_on_spot",
        "当场作出决定",
        "window",
        "clerk@${department}",
        "approval/decide_on_spot",
        doc="材料齐全、符合法定形式，能够当场作出决定的，应当当场作出书面的行政许可决定（行政许可法第34条第2款）。",
    )
    p.flow("instant_gw", "decide_on_spot", "handling == 'instant'", "即办件")

    # -- review (第34-36条)
    p.user(
        "review",
        "审查",
        "review",
        "reviewer@${department}",
        "approval/review",
        props={
            "stage": "review",
            "statutory_limit": "14wd",
            "promised_limit": "6wd",
            "limit_basis": "行政许可法第34条、第42条",
        },
        doc=(
            "对申请材料进行审查；需要核实实质内容的指派两名以上工作人员核查（第34条第3款）；直接关系他人重大利益的"
            "告知利害关系人并听取陈述申辩（第36条）；提出审查意见。"
        ),
    )
    stage_timers(p, "review", "'review'", "审查")
    p.flow("instant_gw", "review", name="承诺件", default=True)
    p.gateway("verify_gw", "需核查？", "review")
    p.user(
        "verify_on_site",
        "实地核查（两名以上工作人员）",
        "review",
        "reviewer@${department}",
        "approval/verify",
        doc="根据法定条件和程序需要核实实质内容的，指派两名以上工作人员进行核查（行政许可法第34条第3款）。",
    )
    p.gateway("verify_merge", None, "review")
    p.flow("review", "verify_gw")
    p.flow("verify_gw", "verify_on_site", "needs_verification", "需核查")
    p.flow("verify_gw", "verify_merge", default=True)
    p.flow("verify_on_site", "verify_merge")

    # -- special procedures: time not counted (第45条)
    p.gateway("special_gw", "需特别程序？", "review")
    p.flow("verify_merge", "special_gw")
    p.user(
        "clock_stop_notice",
        "书面告知特别程序所需时间",
        "review",
        "reviewer@${department}",
        "approval/clock_stop_notice",
        doc="依法需要听证、检验、检测、专家评审等的，所需时间不计入期限，并应书面告知申请人所需时间（行政许可法第45条）。",
    )
    p.flow("special_gw", "clock_stop_notice", "special_procedure != 'none'", "需要")
    p.script(
        "clock_stop_check",
        "核对特别程序是否列入事项目录",
        "supervision",
        "if special_procedure not in clock_stops:\n"
        "    alert('pause_not_in_catalog', 'case', '特别程序' + special_procedure + '未列入事项目录')",
        doc="中止计时须有法定事由并已书面告知；未列入事项目录的特别程序由电子监察预警。",
    )
    p.flow("clock_stop_notice", "clock_stop_check")
    p.gateway("procedure_kind", "特别程序类别", "review")
    p.flow("clock_stop_check", "procedure_kind")
    procedures = (
        (
            "hearing",
            "组织听证",
            "行政许可法第45条、第46-48条",
            "申请人、利害关系人被告知听证权利之日起5日内提出申请的，20日内组织听证；听证7日前通知；"
            "主持人为审查人员以外的人员；根据听证笔录作出决定（行政许可法第47-48条）。",
        ),
        ("testing", "检测", "行政许可法第45条", "依法需要检测的，所需时间不计入审批期限（第45条）。"),
        ("expert_review", "专家评审", "行政许可法第45条", "依法需要专家评审的，所需时间不计入审批期限（第45条）。"),
        ("inspection", "检验", "行政许可法第45条", "依法需要检验的，所需时间不计入审批期限（第45条）。"),
    )
    p.gateway("procedure_merge", None, "review")
    for code, name, basis, doc in procedures:
        p.user(
            code,
            name,
            "review",
            "reviewer@${department}",
            f"approval/{code}",
            props={"clock_stop": code, "clock_stop_basis": basis},
            doc=doc,
        )
        default = code == "inspection"
        entry = hearing.ENTRY if code == "hearing" else code  # the hearing: 第46条 or on request (第47条)
        p.flow("procedure_kind", entry, None if default else f"special_procedure == '{code}'", name, default=default)
        if code != "hearing":
            p.flow(code, "procedure_merge")
    hearing.hearing_on_request(p, "procedure_merge")
    p.gateway("special_merge", None, "review")
    p.flow("special_gw", "special_merge", default=True)
    p.flow("procedure_merge", "special_merge")

    # -- extension (第42条第1款)
    p.gateway("extension_gw", "需延期？", "review")
    p.flow("special_merge", "extension_gw")
    p.user(
        "approve_extension",
        "负责人审批延期",
        "leader",
        "leader@${department}",
        "approval/approve_extension",
        doc="二十日内不能作出决定的，经本行政机关负责人批准，可以延长十日，并应当将延长期限的理由告知申请人（第42条）。",
    )
    p.flow("extension_gw", "approve_extension", "extension_requested", "申请延期")
    p.gateway("extension_approved_gw", "批准延期？", "leader")
    p.flow("approve_extension", "extension_approved_gw")
    p.script(
        "extend",
        "延长10个工作日并告知申请人",
        "leader",
        "\n".join(
            [
                f"extend_limit('case', '10wd', '{LAW}第42条第1款', extension_approver)",
                "extension_notice = {'by': '10wd', 'reason': extension_reason, 'approved_by': extension_approver, "
                "'issued_at': now()}",
            ]
        ),
        doc="延长一次，最多10个工作日，书面告知申请人延长理由（行政许可法第42条第1款）。",
    )
    p.flow("extension_approved_gw", "extend", "extension_approved", "批准")
    p.gateway("extension_merge", None, "review")
    p.flow("extension_approved_gw", "extension_merge", name="不批准", default=True)
    p.flow("extend", "extension_merge")
    p.flow("extension_gw", "extension_merge", default=True)

    # -- decision (第37-38条, 第42条)
    p.user(
        "decide",
        "审批决定",
        "approve",
        "approver@${department}",
        "approval/decide",
        props={
            "stage": "decide",
            "statutory_limit": "6wd",
            "promised_limit": "3wd",
            "limit_basis": "行政许可法第37条、第42条",
        },
        doc="符合法定条件、标准的，作出准予行政许可的书面决定；不予许可的，说明理由并告知复议、诉讼权利（第38条）。",
    )
    stage_timers(p, "decide", "'decide'", "决定")
    p.flow("extension_merge", "decide")
    p.gateway("decision_merge", None, "approve")
    p.flow("decide", "decision_merge")
    p.flow("decide_on_spot", "decision_merge")
    p.script(
        "decided",
        "记录决定，停止办理计时",
        "approve",
        "decided_at = now()\nend_limit('case')",
        doc="作出决定即停止办理时限计时；送达另计10个工作日（第44条）。",
    )
    p.flow("decision_merge", "decided")
    p.throw_signal("decided_signal", "决定已作出", "approve", "sig_approval_decided")
    p.flow("decided", "decided_signal")
    p.gateway("watch_join", None, "approve", "parallelGateway")
    p.flow("decided_signal", "watch_join")
    p.flow("case_watch", "watch_join")

    # -- delivery (第44条) or denial (第38条)
    p.gateway("result_gw", "决定结果？", "approve")
    p.flow("watch_join", "result_gw")
    p.user(
        "deliver",
        "制发并送达许可证件",
        "window",
        "clerk@${department}",
        "approval/deliver",
        props={
            "stage": "deliver",
            "statutory_limit": "10wd",
            "promised_limit": "3wd",
            "limit_basis": "行政许可法第44条",
        },
        doc="自作出决定之日起十日内向申请人颁发、送达加盖本机关印章的行政许可证件（行政许可法第39条、第44条）。",
    )
    stage_timers(p, "deliver", "'deliver'", "送达")
    p.flow("result_gw", "deliver", "decision == 'approve'", "准予许可")
    p.script(
        "delivered",
        "办结（核对收费）",
        "window",
        "\n".join(
            [
                "delivered_at = now()",
                "if fee_charged and (fee is None or fee_charged > fee['standard']):",
                "    alert('fee_not_in_catalog', 'deliver', '收取了事项目录以外的费用：' + str(fee_charged) + '元')",
            ]
        ),
        doc="实施行政许可不得收费，法律、行政法规另有规定的，按公布的法定项目和标准收费（行政许可法第58-59条）。",
    )
    p.end("approved_end", "准予许可，已送达", "window")
    p.flow("deliver", "delivered")
    p.flow("delivered", "approved_end")
    p.user(
        "deliver_denial",
        "送达不予许可决定书",
        "window",
        "clerk@${department}",
        "approval/deliver_denial",
        doc="不予行政许可的书面决定应当说明理由，并告知申请人享有依法申请行政复议或者提起行政诉讼的权利（第38条第2款）。",
    )
    p.end("denied_end", "不予许可", "window")
    p.flow("result_gw", "deliver_denial", name="不予许可", default=True)
    p.flow("deliver_denial", "denied_end")
    return p
