"""The inbox (我的待办): my tasks and my groups' unclaimed tasks, filtered, counted, paged and sorted by due
date; claim, unclaim and delegate; saved filters. The page refreshes its list in place (see static/govflow.js)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine import stages
from engine.errors import Conflict, Forbidden, GovflowError, NotFound
from webui import saved_filters
from webui.context import COLOURS, current_actor, engine, safe_next

bp = Blueprint("inbox", __name__)


def _filters(values) -> dict[str, str]:
    query = saved_filters.clean_query(values)
    if query.get("colour") not in COLOURS:
        query.pop("colour", None)
    if query.get("sort") not in ("due", "-due"):
        query.pop("sort", None)
    return query


def _page(values) -> int:
    try:
        return max(1, int(values.get("page", 1)))
    except (TypeError, ValueError):
        return 1


def row_view(row) -> dict:
    """One inbox row (engine.services.inbox.InboxRow) as the template shows it."""
    return {
        "id": row.task_id, "case_id": row.case_id, "receipt_no": row.receipt_no, "item_name": row.item_name or "",
        "applicant": row.applicant_name or "", "name": row.name or row.bpmn_id, "department": row.department or "",
        "assignee": row.assignee, "due_at": row.due_at, "colour": None if row.colour == "none" else row.colour,
        "days_left": row.days_left, "provisional": row.provisional, "stopped": row.stopped,
        "on_behalf_of": row.on_behalf_of,
    }  # fmt: skip


def _service_filters(query: dict[str, str]) -> dict[str, str]:
    return {
        "item": query.get("item"),
        "stage": query.get("stage"),
        "colour": query.get("colour"),
        "department": query.get("department"),
        "text": query.get("q"),
    }


def _inbox(actor, query: dict[str, str], page: int, per_page: int):
    filters = {k: v for k, v in _service_filters(query).items() if v}
    return engine().tasks.inbox(actor, filters, query.get("sort", "due"), page, per_page)


def _choices(user):
    eng = engine()
    try:
        items = [(i.code, i.name) for i in eng.catalog.list()]
    except (AttributeError, GovflowError):
        items = []
    try:
        scope = set(eng.identity.department_scope(user.department))
        departments = [(d.code, d.name) for d in eng.identity.departments() if d.code in scope]
    except GovflowError:
        departments = []
    return items, departments


@bp.get("/inbox")
@login_required
def index():
    actor = current_actor()
    query = _filters(request.args)
    page = _page(request.args)
    per_page = current_app.config["INBOX_PER_PAGE"]
    rows, total, counts = _inbox(actor, query, page, per_page)
    pages = max(1, -(-total // per_page))
    eng = engine()
    saved = eng.saved_filters.list_for(current_user.username)
    # Counts per saved filter: each is one count query on the same service (a page of one row).
    saved_counts = {f.id: _inbox(actor, _filters(f.query), 1, 1)[1] for f in saved}
    views = [row_view(r) for r in rows]
    context = {
        "rows": views, "total": total, "counts": counts or {}, "page": page,
        "pages": pages, "query": query, "saved": saved, "saved_counts": saved_counts, "stages": stages.TASK_STAGES,
        "colours": COLOURS, "refresh_seconds": current_app.config["INBOX_REFRESH_SECONDS"],
        "colleagues": _colleagues(),
    }  # fmt: skip
    if request.headers.get("X-Govflow-Partial") == "inbox":
        return render_template("_inbox_list.html", **context)
    items, departments = _choices(current_user)
    return render_template("inbox.html", items=items, departments=departments, **context)


def _colleagues():
    try:
        return [u for u in engine().identity.colleagues(current_user.username) if u.username != current_user.username]
    except GovflowError:
        return []


def _back() -> str:
    return safe_next(request.form.get("next"), url_for("inbox.index"))


def _task_action(task_id: str, action, done_message: str):
    try:
        action(engine().tasks, task_id, current_actor())
    except NotFound:
        abort(404)
    except Forbidden:
        flash(_("此任务不属于您或您所在的岗位，无法办理。"), "error")
    except Conflict as exc:
        flash(_("操作未完成：任务已被他人处理。") + " " + str(exc), "error")
    except GovflowError as exc:
        flash(_("操作未完成：") + str(exc), "error")
    else:
        flash(done_message, "success")
    return redirect(_back())


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id):
    return _task_action(task_id, lambda tasks, tid, actor: tasks.claim(tid, actor=actor), _("已签收任务。"))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id):
    return _task_action(
        task_id, lambda tasks, tid, actor: tasks.unclaim(tid, actor=actor), _("已放回任务，岗位其他人员可签收。")
    )  # fmt: skip


@bp.post("/tasks/<task_id>/delegate")
@login_required
def delegate(task_id):
    to_user = request.form.get("to", "").strip()
    if not to_user:
        flash(_("请选择转办的同事。"), "error")
        return redirect(_back())
    return _task_action(
        task_id,
        lambda tasks, tid, actor: tasks.delegate(tid, to_user=to_user, actor=actor),
        _("已转办给 %(user)s。", user=to_user),
    )


@bp.post("/inbox/filters")
@login_required
def save_filter():
    query = _filters(request.form)
    try:
        engine().saved_filters.save(current_user.username, request.form.get("name", ""), query)
    except GovflowError as exc:
        flash(_("筛选条件未保存：") + str(exc), "error")
    else:
        flash(_("筛选条件已保存。"), "success")
    return redirect(url_for("inbox.index", **query))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id):
    engine().saved_filters.delete(current_user.username, filter_id)
    flash(_("筛选条件已删除。"), "success")
    return redirect(url_for("inbox.index"))
