"""Window acceptance (窗口受理): pick a catalog item, enter the applicant (or the proxy, 代办), tick the materials
received; then accept (printable receipt), issue the one-time notice listing every missing material
(行政许可法第32条第1款第4项) or refuse, naming the competent agency (第32条第1款第2项). An instant item
(即办件, 第34条) can be decided on the spot by a window that holds the decision role."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine import policy
from engine.errors import GovflowError, InvalidData, NotFound
from webui import case_view
from webui.context import current_actor, engine

bp = Blueprint("accept", __name__, url_prefix="/accept")

OUTCOMES = ("accept", "supplement", "refuse")
_PHONE = re.compile(r"^[0-9+\- ]{5,20}$")
_ID_NO = re.compile(r"^[0-9A-Za-z]{8,20}$")
# Grounds of refusal at the window (行政许可法第32条第1款第1、2项, or another legal ground written out).
REFUSAL_GROUNDS = {
    "not_required": "依法不需要取得行政许可",
    "not_in_remit": "不属于本机关职权范围",
    "other": "其他法定理由",
}
DEFAULT_OPINIONS = {
    "accept": "申请材料齐全，符合法定形式，予以受理。",
    "supplement": "申请材料不齐全，已一次性告知需要补正的全部内容。",
    "refuse": "经审查，不予受理。",
}


@bp.app_context_processor
def _permissions():
    """`may(action)` for the templates: whether the signed-in user may do an action at all (the nav links)."""

    def may(action: str) -> bool:
        return current_user.is_authenticated and policy.decide(policy.of_user(current_user.user), action).allowed

    return {"may": may}


@bp.get("/")
@login_required
def index():
    eng = engine()
    text = request.args.get("q", "").strip()
    # The items this window accepts (the permission policy: its department's, and those the catalog sends to a
    # comprehensive window); someone who accepts none is not a window.
    items = eng.catalog.acceptable(current_actor())
    if not items:
        abort(403)
    if text:
        items = [i for i in items if text in i.name or text.lower() in i.code.lower()]
    names = {d.code: d.name for d in eng.identity.departments()}
    own = current_user.department
    items.sort(key=lambda i: (i.department != own, i.department, i.code))
    return render_template("accept_index.html", items=items, departments=names, q=text)


def _read_form(item) -> tuple[dict, dict | None, list[str], dict, dict[str, str]]:
    """(applicant, proxy, provided materials, acceptance decision, errors by field)."""
    form = request.form
    errors: dict[str, str] = {}
    applicant = {
        "kind": form.get("applicant_kind", "person"),
        "name": form.get("applicant_name", "").strip(),
        "id_no": form.get("applicant_id_no", "").strip(),
        "phone": form.get("applicant_phone", "").strip(),
    }
    if applicant["kind"] not in ("person", "organisation"):
        errors["applicant_kind"] = _("请选择申请人类型")
    if not applicant["name"] or len(applicant["name"]) > 100:
        errors["applicant_name"] = _("请填写申请人名称（不超过 100 字）")
    if not _ID_NO.match(applicant["id_no"]):
        errors["applicant_id_no"] = _("证件号码应为 8–20 位字母或数字（身份证号或统一社会信用代码）")
    if not _PHONE.match(applicant["phone"]):
        errors["applicant_phone"] = _("请填写有效的联系电话")
    proxy = None
    if form.get("by_proxy"):
        proxy = {"name": form.get("proxy_name", "").strip(), "phone": form.get("proxy_phone", "").strip()}
        if not proxy["name"] or len(proxy["name"]) > 100:
            errors["proxy_name"] = _("请填写代办人姓名")
        if not _PHONE.match(proxy["phone"]):
            errors["proxy_phone"] = _("请填写代办人联系电话")
    known = [m.name for m in item.materials]
    provided = [name for name in form.getlist("materials") if name in known]
    missing = [m.name for m in item.materials if m.required and m.name not in provided]
    decision = {
        "outcome": form.get("outcome", ""),
        "opinion": form.get("opinion", "").strip()[:2000],
        "refuse_reason": form.get("refuse_reason", ""),
        "refusal_detail": form.get("refusal_detail", "").strip()[:2000],
        "competent_agency": form.get("competent_agency", "").strip()[:200],
        "corrected_on_spot": bool(form.get("corrected_on_spot")),
    }
    if decision["outcome"] not in OUTCOMES:
        errors["outcome"] = _("请选择受理结果")
    elif decision["outcome"] == "accept" and missing:
        errors["outcome"] = _("必要材料未齐（%(n)s 项），不能受理：请出具一次性告知书。", n=len(missing))
    elif decision["outcome"] == "supplement":
        if not missing:
            errors["outcome"] = _("必要材料已齐全，无需一次性告知。")
        decision["missing_materials"] = missing
    elif decision["outcome"] == "refuse":
        if decision["refuse_reason"] not in REFUSAL_GROUNDS:
            errors["refuse_reason"] = _("请选择不予受理的理由")
        elif decision["refuse_reason"] == "not_in_remit" and not decision["competent_agency"]:
            errors["competent_agency"] = _("不属于本机关职权范围的，须告知申请人向有关行政机关申请")
        elif decision["refuse_reason"] == "other" and not decision["refusal_detail"]:
            errors["refusal_detail"] = _("请写明不予受理的理由")
    if not decision["opinion"] and decision["outcome"] in OUTCOMES:
        decision["opinion"] = DEFAULT_OPINIONS[decision["outcome"]]
    return applicant, proxy, provided, decision, errors


@bp.route("/<code>", methods=["GET", "POST"])
@login_required
def apply(code):
    eng = engine()
    try:
        item = eng.catalog.get(code)
    except NotFound:
        abort(404)
    actor = current_actor()
    if not policy.decide(policy.subject(eng, actor), "accept", eng.catalog.target(item)):
        abort(403)
    department = case_view.department_name(item.department)
    if request.method == "GET":
        return render_template("accept_item.html", item=item, department=department, values={}, errors={},
                               provided=[], grounds=REFUSAL_GROUNDS)  # fmt: skip
    applicant, proxy, provided, decision, errors = _read_form(item)
    if errors:
        flash(_("受理信息有 %(n)s 处需要修改。", n=len(errors)), "error")
        return render_template("accept_item.html", item=item, department=department, values=request.form,
                               errors=errors, provided=provided, grounds=REFUSAL_GROUNDS), 422  # fmt: skip
    try:
        # The window's decision goes into the case data too: the printed documents read it from there.
        acceptance = {
            **{k: v for k, v in decision.items() if v},
            "decided_by": current_user.username,
            "note": request.form.get("opinion", "").strip()[:2000],
        }
        case = eng.catalog.accept(actor, item.code, applicant, {"materials": provided, "acceptance": acceptance},
                                  proxy=proxy)  # fmt: skip
    except InvalidData as exc:
        errors = {field.split(".")[-1]: message for field, message in exc.errors} or {"_form": str(exc)}
        flash(_("未能登记：") + str(exc), "error")
        return render_template("accept_item.html", item=item, department=department, values=request.form,
                               errors=errors, provided=provided, grounds=REFUSAL_GROUNDS), 422  # fmt: skip
    try:
        _decide_acceptance(eng, case.id, decision)
    except GovflowError as exc:
        # Registered, but this window could not record the decision: the case waits in the department's inbox.
        flash(_("已登记（编号 %(no)s），但未能记录受理结果：%(why)s", no=case.receipt_no, why=str(exc)), "error")
        return redirect(url_for("inbox.index"))
    document = {"accept": "receipt", "supplement": "notice", "refuse": "refusal"}[decision["outcome"]]
    return redirect(url_for("accept.document", case_id=case.id, kind=document))


def _acceptance_task(eng, case_id: str):
    """The case's open acceptance task (the first task the window acts on), if the diagram has one."""
    for task in eng.tasks.query(case_id=case_id, state="open", limit=10):
        groups = task.candidate_groups or []
        if task.bpmn_id.startswith("accept") or any(g.startswith("clerk@") for g in groups):
            return task
    return None


def _acceptance_data(eng, task, decision: dict) -> dict:
    """The decision in the names of the diagram's acceptance form: its outcome field is the one offering
    accept / refuse; the reason, competent agency and opinion go where the form has such fields."""
    data = {k: v for k, v in decision.items() if v not in ("", None, []) and k != "outcome"}
    if not (task.form_key and eng.forms.exists(task.form_key)):
        return {"outcome": decision["outcome"], **data}
    fields = eng.forms.get(task.form_key).fields
    outcome = next((f.name for f in fields if f.enum and {"accept", "refuse"} <= set(f.enum)), "outcome")
    allowed = {f.name for f in fields}
    return {outcome: decision["outcome"], **{k: v for k, v in data.items() if k in allowed}}


def _decide_acceptance(eng, case_id: str, decision: dict) -> None:
    """Record the window's decision on the acceptance task (claimed and completed by the window)."""
    task = _acceptance_task(eng, case_id)
    if task is None:
        return
    actor = current_actor()
    eng.tasks.claim(task.id, actor=actor)
    eng.tasks.complete(task.id, data=_acceptance_data(eng, task, decision), actor=actor)


@bp.get("/cases/<case_id>/<kind>")
@login_required
def document(case_id, kind):
    """The printable receipt (受理回执), one-time notice (一次性告知书) or refusal (不予受理决定书)."""
    if kind not in ("receipt", "notice", "refusal"):
        abort(404)
    eng = engine()
    try:
        view = eng.runtime.describe_for(current_actor(), case_id)
    except NotFound:
        abort(404)
    data = view["data"]
    next_task = None
    if kind == "receipt" and data.get("handling") == "instant":
        next_task = _instant_decision(eng, case_id)
    return render_template(
        f"doc_{kind}.html", case=view, data=data, applicant=data.get("applicant") or {}, proxy=data.get("proxy"),
        materials=case_view.materials(data), department=case_view.department_name(data.get("department", "")),
        limits=case_view.time_limits(eng, case_id), next_task=next_task, grounds=REFUSAL_GROUNDS,
        applicant_kind=case_view.applicant_kind(data.get("applicant") or {}),
    )  # fmt: skip


def _instant_decision(eng, case_id: str):
    """The open task of an instant item that this window may decide on the spot, if any."""
    who = policy.subject(eng, current_actor())
    for task in eng.tasks.query(case_id=case_id, state="open", limit=10):
        if policy.decide(who, "complete", policy.Target(task=task)):
            return task
    return None
