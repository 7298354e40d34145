"""My notifications (我的通知): the signed-in user's in-app notifications — addressed to them by name or to a group
they act with, an absent colleague's groups included while they cover (AB岗) — newest first and paged; marking one
or all read; the unread count beside the nav link (one COUNT statement, only when a page shows the nav)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import notify
from engine.errors import NotFound
from engine.supervision import VIEW_ROLES
from webui.context import current_actor, engine, safe_next

bp = Blueprint("notifications", __name__)
ALERT_COLOURS = ("yellow", "red", "red_plus")


def _page(values) -> int:
    try:
        return max(1, int(values.get("page", 1)))
    except (TypeError, ValueError):
        return 1


def _case_links(entries) -> dict[str, str]:
    """Where each case's receipt number leads: an open task of the case the user may work on, else (for a
    supervisor or leader) the case in the supervision console; no link otherwise."""
    case_ids = {e.case_id for e in entries if e.case_id}
    if not case_ids:
        return {}
    tasks = engine().tasks.open_task_seen_by(current_actor(), case_ids)
    links = {case_id: url_for("tasks.show", task_id=task_id) for case_id, task_id in tasks.items()}
    if "supervision.case_page" in current_app.view_functions and current_user.has_role(*VIEW_ROLES):
        for e in entries:
            if e.case_id and e.case_id not in links:
                links[e.case_id] = url_for("supervision.case_page", ref=e.receipt_no or e.case_id)
    return links


@bp.get("/notifications")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    per_page = current_app.config.get("NOTIFICATIONS_PER_PAGE", 20)
    found = notify.inbox_page(engine(), current_user.username, _page(request.args), per_page, unread_only=unread_only)
    g.unread_notifications = found.unread  # the nav badge needs no count of its own on this page
    return render_template(
        "notifications.html", entries=found.entries, total=found.total, unread=found.unread, page=found.page,
        pages=found.pages, newest=found.newest, unread_only=unread_only, links=_case_links(found.entries),
        alert_colours=ALERT_COLOURS, own_groups=set(current_user.user.groups),
    )  # fmt: skip


def _back():
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")))


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    try:
        notify.mark_read_by(engine(), current_user.username, notification_id)
    except NotFound:
        abort(404)  # another user's notification does not exist for this one
    return _back()


@bp.post("/notifications/read")
@login_required
def mark_all_read():
    try:
        up_to = int(request.form["up_to"])
    except (KeyError, ValueError):
        up_to = None
    notify.mark_all_read_by(engine(), current_user.username, up_to)
    return _back()


@bp.app_context_processor
def _unread_badge():
    def unread_notifications() -> int:
        """The signed-in user's unread count, counted at most once per request (0 when signed out)."""
        if "unread_notifications" not in g:
            signed_in = current_user.is_authenticated
            g.unread_notifications = notify.unread_count(engine(), current_user.username) if signed_in else 0
        return g.unread_notifications

    return {"unread_notifications": unread_notifications}
