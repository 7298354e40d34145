"""The execution part of processes/enforcement_case.bpmn: delivery of the decision (行政处罚法第61条), payment at
the bank with the late surcharge (第67条、第72条), court enforcement, closing and archive (第47条)."""

from __future__ import annotations

from processes.tools.bpmn_builder import Process
from processes.tools.procedure_parts import stage_timers

OFFICER, LEADER = "officer@${department}", "leader@${department}"

# Days late from two ISO dates without a date library: days since 0000-03-01 (H. Hinnant's days_from_civil).
SURCHARGE = """paid_amount = payment_received.get('paid_amount', 0)
paid_on = payment_received.get('paid_on') or now()[0:10]
def day_number(text):
    y = int(text[0:4])
    m = int(text[5:7])
    d = int(text[8:10])
    if m <= 2:
        y = y - 1
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy
days_late = max(0, day_number(paid_on) - day_number(payment_due[0:10]))
late_surcharge = min(fine_amount, round(fine_amount * 3 * days_late / 100, 2))
amount_due = fine_amount + late_surcharge
total_paid = total_paid + paid_amount
payment_complete = total_paid >= amount_due"""


def add_execution(p: Process) -> None:
    """Add delivery, payment, enforcement and closing; expects `outcome_gw` and `summary_decided` in `p`."""
    # -- delivery (第61条) and payment at the bank (第67、72条)
    p.user(
        "deliver_decision",
        "送达处罚决定书（7日内）",
        "officer",
        OFFICER,
        "enforcement_case/deliver_decision",
        props={
            "stage": "deliver",
            "statutory_limit": "7wd",
            "promised_limit": "3wd",
            "limit_basis": "行政处罚法第61条",
        },
        doc="决定书宣告后当场交付；当事人不在场的，七日内依照民事诉讼法的有关规定送达（第61条）。",
    )
    stage_timers(p, "deliver_decision", "'deliver'", "送达")
    p.flow("outcome_gw", "deliver_decision", "outcome == 'penalty'", "给予处罚")
    p.script("delivered", "记录送达", "officer", "delivered_at = now()")
    p.flow("deliver_decision", "delivered")
    p.gateway("fine_gw", "有罚款？", "officer")
    p.flow("delivered", "fine_gw")
    p.flow("summary_decided", "fine_gw")
    p.script(
        "payment_notice",
        "罚缴分离：告知到指定银行缴纳（15日）",
        "officer",
        "payment_due = days_after(15)",
        doc=(
            "当事人应当自收到决定书之日起十五日内，到指定的银行或者通过电子支付系统缴纳罚款；作出决定的行政机关"
            "及其执法人员不得自行收缴（第67条）。本流程只接受银行的缴款回执（消息 payment_received）。"
        ),
    )
    p.flow("fine_gw", "payment_notice", "fine_amount > 0", "有罚款")
    p.gateway("await_payment", "等待银行缴款回执", "officer", "eventBasedGateway")
    p.flow("payment_notice", "await_payment")
    p.catch_message(
        "payment_in",
        "银行缴款回执",
        "officer",
        "msg_payment_received",
        doc="银行收受罚款直接上缴国库后发回的回执：paid_amount、paid_on（缴款日期）、bank_receipt_no。",
    )
    p.timer("payment_timeout", "15日缴款期届满", "officer", "payment_due")
    p.flow("await_payment", "payment_in")
    p.flow("await_payment", "payment_timeout")
    p.script(
        "payment_overdue",
        "逾期未缴：每日加处3%罚款",
        "officer",
        "overdue = True\nenforcement_from = days_after(180, payment_due)",
        doc=(
            "到期不缴纳罚款的，每日按罚款数额的3%加处罚款，加处罚款的数额不得超出罚款的数额（第72条第1项）；"
            "法定复议、诉讼期限（行政诉讼法第46条：六个月）届满仍不履行的，申请人民法院强制执行（第72条第4项、"
            "行政强制法第53条）。"
        ),
    )
    p.flow("payment_timeout", "payment_overdue")
    p.gateway("await_late_payment", "等待缴纳罚款及加处罚款", "officer", "eventBasedGateway")
    p.flow("payment_overdue", "await_late_payment")
    p.catch_message("late_payment_in", "银行缴款回执（逾期）", "officer", "msg_payment_received")
    p.timer("enforcement_timeout", "复议诉讼期限届满仍未履行", "officer", "enforcement_from")
    p.flow("await_late_payment", "late_payment_in")
    p.flow("await_late_payment", "enforcement_timeout")
    p.gateway("payment_merge", None, "officer")
    p.flow("payment_in", "payment_merge")
    p.flow("late_payment_in", "payment_merge")
    p.script(
        "record_payment",
        "核对缴款，计算加处罚款",
        "officer",
        SURCHARGE,
        doc="加处罚款按逾期日数计算（每日3%），以罚款数额为限（第72条第1项）。",
    )
    p.flow("payment_merge", "record_payment")
    p.gateway("paid_gw", "已足额缴纳？", "officer")
    p.flow("record_payment", "paid_gw")
    p.user(
        "apply_enforcement",
        "催告并申请人民法院强制执行",
        "officer",
        OFFICER,
        "enforcement_case/apply_enforcement",
        doc="申请前催告当事人履行，催告书送达十日后仍未履行的，向人民法院申请强制执行（行政强制法第54条；行政处罚法第72条第4项）。",
    )
    p.flow("enforcement_timeout", "apply_enforcement")
    p.flow("paid_gw", "apply_enforcement", name="未足额", default=True)

    # -- closing and archive (第47条)
    p.gateway("close_merge", None, "leader")
    p.flow("paid_gw", "close_merge", "payment_complete", "已缴清")
    p.flow("apply_enforcement", "close_merge")
    p.flow("fine_gw", "close_merge", name="无罚款", default=True)
    p.flow("outcome_gw", "close_merge", name="不予处罚/移送", default=True)
    p.user(
        "close_case",
        "结案审批",
        "leader",
        LEADER,
        "enforcement_case/close_case",
        doc="执行完毕、不予处罚、移送司法机关或者申请强制执行后，报负责人批准结案。",
    )
    p.flow("close_merge", "close_case")
    p.user(
        "archive",
        "立卷归档",
        "officer",
        OFFICER,
        "enforcement_case/archive",
        doc="对启动、调查取证、审核、决定、送达、执行全过程记录，归档保存（第47条）。",
    )
    p.flow("close_case", "archive")
    p.end("archived", "结案归档", "officer")
    p.flow("archive", "archived")
