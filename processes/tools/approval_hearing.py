"""The hearing of processes/approval.bpmn — 行政许可法第46-48条 as time limits and checks.

Two ways into the hearing (`hearing_basis`, set at review):
- `art46` (default): a law requires a hearing, or the agency holds one in the public interest — the agency holds it
  without a request (第46条);
- `art47`: the matter directly concerns major interests of the applicant and others — they are told of the right and
  must request a hearing within 5 working days (第47条, 第82条); no request in time and the right lapses; a request
  obliges the agency to hold the hearing within 20 working days (stage `hearing`).
On both ways the hearing itself (`hearing`, built by approval.py) stops every clock of the case (第45条), and the
notice 7 working days ahead and a chair other than the reviewer (第48条第1款) are checked.

Why the 20 wd stage ends when the notice is issued: a clock stop stands every running clock still, its own stage's
too, so the stage cannot overlap the hearing's clock stop; the scheduled and the actual hearing date are checked
against `hearing_due` (20 wd after the request) instead.
"""

from __future__ import annotations

from processes.tools.bpmn_builder import Process
from processes.tools.procedure_parts import stage_timers

ENTRY = "hearing_kind"  # procedure_kind leads here when special_procedure == 'hearing'
HOST = "hearing"  # the hearing itself: a user task with clock_stop = hearing (approval.py)
EXIT = "hearing_checks"  # the hearing leads here, then on to the merge of the special procedures
REVIEWER = "reviewer@${department}"
# Case data the hearing reads, set before the review (the review form may override the first two).
DEFAULTS = ("hearing_basis = 'art46'", "reviewer = ''", "hearing_due = ''", "hearing_requested = False",
            "hearing_waived = False", "hearing_held = False")  # fmt: skip

_NOTICE_CHECK = (
    "if {held} < workdays_after(7, {notice})[0:10]:\n"
    "    hearing_notice_ok = False\n"
    "    alert('hearing_notice_short', 'hearing', '听证通知日期' + {notice} + '距举行听证' + {held} + "
    "'不足7个工作日（行政许可法第48条第1款第1项）')\n"
    "if reviewer and chair.strip() == reviewer.strip():\n"
    "    hearing_notice_ok = False\n"
    "    alert('hearing_chair_conflict', 'hearing', '听证主持人' + chair + '为审查该行政许可申请的工作人员"
    "（行政许可法第48条第1款第3项）')\n"
    "if hearing_due and {held} > hearing_due[0:10]:\n"
    "    alert('stage_over_limit', 'hearing', '听证' + {held} + '举行，超过申请之日起20个工作日（截至' + "
    "hearing_due[0:10] + '，行政许可法第47条第1款）')"
)


def hearing_on_request(p: Process, merge: str) -> None:
    """The Art 46 / Art 47 entry to the hearing, the Art 47 request period and arrangement stage, and the checks
    after the hearing; `merge` is where the route goes on (with or without a hearing)."""
    p.message("msg_hearing_requested", "hearing_requested")
    p.gateway(ENTRY, "依申请听证？", "review", doc="第46条：依职权听证；第47条：告知听证权利，依申请听证。")
    p.flow(ENTRY, HOST, name="依职权听证（第46条）", default=True)
    p.script(
        "hearing_right_notice",
        "告知听证权利（5日内申请）",
        "review",
        "hearing_right_notified_at = now()\nhearing_request_due = workdays_after(5)",
        doc=(
            "行政许可直接涉及申请人与他人之间重大利益关系的，作出决定前告知申请人、利害关系人享有要求听证的权利；"
            "被告知之日起5个工作日内提出听证申请（行政许可法第47条第1款、第82条）。"
        ),
    )
    p.flow(ENTRY, "hearing_right_notice", "hearing_basis == 'art47'", "依申请听证（第47条）")
    p.gateway("await_hearing_request", "等待听证申请", "review", "eventBasedGateway")
    p.flow("hearing_right_notice", "await_hearing_request")
    p.catch_message(
        "hearing_request_in",
        "收到听证申请",
        "review",
        "msg_hearing_requested",
        doc="申请人或者利害关系人在5日内提出听证申请（消息 hearing_requested）。",
    )
    p.timer("hearing_request_timeout", "5日内未申请听证", "review", "hearing_request_due")
    p.flow("await_hearing_request", "hearing_request_in")
    p.flow("await_hearing_request", "hearing_request_timeout")
    p.script(
        "hearing_right_lapsed",
        "逾期未申请，不举行听证",
        "review",
        "hearing_waived = True",
        doc="被告知之日起5日内未提出听证申请的，视为放弃听证权利，不举行听证，继续办理。",
    )
    p.flow("hearing_request_timeout", "hearing_right_lapsed")
    p.flow("hearing_right_lapsed", merge)
    p.script(
        "hearing_request_recorded",
        "登记听证申请（20日内组织）",
        "review",
        "hearing_requested = True\nhearing_requested_at = now()\nhearing_due = workdays_after(20)",
        doc="行政机关应当在20日内组织听证（行政许可法第47条第1款）；期限自收到申请之日起按工作日计算。",
    )
    p.flow("hearing_request_in", "hearing_request_recorded")
    p.user(
        "hearing_notice",
        "确定听证时间地点并通知（举行7日前）",
        "review",
        REVIEWER,
        "approval/hearing_notice",
        props={"stage": "hearing", "statutory_limit": "20wd", "limit_basis": "行政许可法第47条第1款"},
        doc=(
            "于举行听证的7日前将举行听证的时间、地点通知申请人、利害关系人，必要时予以公告；指定审查该申请的工作人员"
            "以外的人员为听证主持人（行政许可法第48条第1款第1、3项）。"
        ),
    )
    stage_timers(p, "hearing_notice", "'hearing'", "组织听证", levels=("yellow", "red_plus"))
    p.flow("hearing_request_recorded", "hearing_notice")
    p.script(
        "hearing_notice_check",
        "核对通知期限、主持人",
        "supervision",
        "hearing_notice_ok = True\n" + _NOTICE_CHECK.format(held="hearing_date", notice="notified_on"),
        doc="听证日期须在通知之日起7个工作日之后、申请之日起20个工作日之内；主持人不得为审查人员；否则电子监察预警。",
    )
    p.flow("hearing_notice", "hearing_notice_check")
    p.gateway("hearing_notice_gw", "通知合法？", "review")
    p.flow("hearing_notice_check", "hearing_notice_gw")
    p.flow("hearing_notice_gw", "hearing_notice", "not hearing_notice_ok", "重新确定并通知")
    p.flow("hearing_notice_gw", HOST, name="通知合法", default=True)
    p.script(
        EXIT,
        "核对听证程序（通知期限、主持人）",
        "supervision",
        "hearing_notice_ok = True\n"
        + _NOTICE_CHECK.format(held="held_on", notice="notice_on")
        + "\nhearing_held = True",
        doc="听证后核对：通知在举行7个工作日前送达、主持人非审查人员、依申请听证在20个工作日内举行（第47-48条）。",
    )
    p.flow(HOST, EXIT)
    p.flow(EXIT, merge)
