"""The permission policy's reasons in the page's language: each message key of `engine.policy.MESSAGES` as a
sentence of the message catalog, naming people and cases, never a role, action, status or department code."""

from __future__ import annotations

from flask_babel import gettext as _

from webui import case_view


def _texts() -> dict[str, str]:
    # Built per call: gettext answers in the language of the request being served.
    return {
        "task_not_offered": _("此任务未分派给您或您所在的岗位。"),
        "task_not_claimed_by_user": _("此任务不是由您签收的，不能放回。"),
        "task_claimed_by_other": _("此任务已由 %(assignee)s 签收。"),
        "case_out_of_reach": _("此办件不在您的办理或监察范围内。"),
        "needs_role": _("您的岗位不能进行此项操作。"),
        "not_supervisor": _("此功能仅供电子监察人员、部门负责人和系统管理员使用。"),
        "department_out_of_scope": _("该部门不在您的管辖或监察范围内。"),
        "not_window_for_item": _("您所在的窗口不受理此事项。"),
        "person_out_of_scope": _("%(person)s 不在您的监察范围内。"),
        "case_not_in_status": _("办件 %(receipt_no)s 当前%(status)s，此项操作仅适用于%(needed)s的办件。"),
    }


def said(exc: Exception) -> str:
    """The reason of a refusal for a person: the policy's reason in the page's language, else the error's text."""
    key = getattr(exc, "key", None)
    text = _texts().get(key) if key else None
    if text is None:
        return str(exc)
    params = getattr(exc, "params", {}) or {}
    return text % {
        "assignee": case_view.person(params.get("assignee")), "person": case_view.person(params.get("person")),
        "receipt_no": params.get("receipt_no", ""), "status": case_view.status_label(params.get("status")),
        "needed": "、".join(case_view.status_label(s) for s in params.get("needed") or ()),
    }  # fmt: skip
