"""The alerts board (预警督办) and the statistics page (绩效统计) of the supervision console."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import alerts_board, statistics
from engine.clock import LOCAL_TZ
from engine.errors import GovflowError, InvalidData, NotFound
from engine.rules import RULES
from webui import case_view
from webui.api_supervision import bp as api_bp
from webui.charts import bar_chart, trend_chart
from webui.context import engine, safe_next
from webui.reasons import said
from webui.supervision import PAGE_SIZES, _departments, bp, list_filter, list_link, scope, viewer


def _alert_filter(args) -> alerts_board.AlertFilter:
    page = args.get("page", "")
    return alerts_board.AlertFilter(
        kind=args.get("kind") or None, department=args.get("department") or None,
        officer=args.get("officer") or None, include_closed=args.get("closed") == "1",
        limit=int(args["per_page"]), page=int(page) if page.isdigit() and int(page) > 0 else 1,
    )  # fmt: skip


@bp.get("/alerts")
def alerts():
    """One page of the scope's alerts (open ones unless asked), filtered by kind, department, officer."""
    f = list_filter(request.args, _alert_filter)
    s = scope()
    kinds = {**alerts_board.TIME_KINDS, **{code: rule.title for code, rule in RULES.items()}}
    return render_template(
        "supervision/alerts.html", result=engine().supervision.alert_page(s, f), f=f, kinds=kinds,
        departments={c: n for c, n in _departments().items() if s.allows(c)}, faults=alerts_board.FAULT_KINDS,
        measures=alerts_board.MEASURES, records=engine().supervision.accountability_records(s, limit=20),
        link=list_link("supervision.alerts", request.args), page_sizes=PAGE_SIZES,
    )  # fmt: skip


def _back():
    return redirect(safe_next(request.form.get("next"), url_for("supervision.alerts")))


@bp.post("/alerts/<int:alert_id>/acknowledge")
def acknowledge(alert_id: int):
    try:
        engine().supervision.acknowledge(viewer(), alert_id, request.form.get("note", ""))
        flash(_("预警已处理"), "success")
    except GovflowError as exc:
        flash(said(exc), "error")
    return _back()


@bp.post("/alerts/acknowledge")
def acknowledge_selected():
    """The alerts ticked on the board, acknowledged with one note."""
    try:
        ids = [i for i in request.form.getlist("alert_id") if i.isdigit()]
        done = engine().supervision.acknowledge_all(viewer(), ids, request.form.get("note", ""))
        flash(_("已处理 %(n)s 条预警", n=len(done["acknowledged"])), "success")
        if done["already"]:
            flash(_("%(n)s 条预警此前已由他人处理，未重复记录", n=len(done["already"])), "info")
    except InvalidData as exc:
        fields = {field for field, _problem in exc.errors}
        flash(_("请先勾选要处理的预警。") if "alert_id" in fields else
              _("请填写处理说明。") if "note" in fields else said(exc), "error")  # fmt: skip
    except NotFound:
        flash(_("所选预警中有的不在您的监察范围内，全部未作处理。"), "error")
    except GovflowError as exc:
        flash(said(exc), "error")
    return _back()


@bp.post("/alerts/<int:alert_id>/letter")
def letter(alert_id: int):
    try:
        days = request.form.get("reply_workdays", "")
        if not days.isdigit():
            raise InvalidData("回复期限须为工作日天数", [("reply_workdays", "not a number")])
        issued = engine().supervision.issue_letter(viewer(), alert_id, request.form.get("department", ""),
                                           int(days), request.form.get("note", ""))  # fmt: skip
        flash(_("已发出督办函 %(no)s", no=issued["letter_no"]), "success")
    except GovflowError as exc:
        flash(said(exc), "error")
    return _back()


@bp.post("/accountability")
def accountability():
    try:
        alert_id = request.form.get("alert_id") or None
        engine().supervision.record_accountability(
            viewer(), target_kind=request.form.get("target_kind", ""), target=request.form.get("target", ""),
            fault_kind=request.form.get("fault_kind", ""), reason=request.form.get("reason", ""),
            measure=request.form.get("measure") or None, case_id=request.form.get("case_id") or None,
            alert_id=int(alert_id) if alert_id and alert_id.isdigit() else None,
        )  # fmt: skip
        flash(_("已记录过错责任追究"), "success")
    except GovflowError as exc:
        flash(said(exc), "error")
    return _back()


def _window() -> tuple[date, date]:
    today = engine().now().astimezone(LOCAL_TZ).date()
    try:
        start = date.fromisoformat(request.args["from"]) if request.args.get("from") else today.replace(day=1)
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else today
    except ValueError:
        raise InvalidData("日期格式应为 YYYY-MM-DD", [("from", "bad date")]) from None
    return start, end


def _group_label(by: str, key) -> str | None:
    """What a row of the figures is named by: a department or an officer by name, an item by its title."""
    if by == "department":
        return case_view.department_name(key)
    if by == "officer":
        return case_view.person(key)
    if by == "item":
        try:
            return engine().catalog.get(key).name
        except GovflowError:
            return None
    return None


@bp.get("/statistics")
def statistics_page():
    """Figures per department / item / officer / month / quarter with a bar and a trend chart and the ranking."""
    by = request.args.get("by") or "department"
    start, end = _window()
    s = engine().supervision.scope(viewer(), "read_statistics")
    rows = engine().supervision.figures(s, by, start, end)
    for r in rows:
        r.label = _group_label(by, r.key)
    if request.args.get("format") == "csv":
        return Response(statistics.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=statistics-{by}.csv"})  # fmt: skip
    shown = rows[:12]
    bars = bar_chart(_("按时办结率"), [r.label or r.key for r in shown],
                     [round((r.on_time_rate or 0) * 100, 1) for r in shown], "%")  # fmt: skip
    trend_start = end.replace(day=1) - timedelta(days=330)
    months = engine().supervision.monthly_volume(s, trend_start.replace(day=1), end)
    trend = trend_chart(_("月度收件与办结"), [m for m, _n, _d in months],
                        {_("收件"): [n for _m, n, _d in months], _("办结"): [d for _m, _n, d in months]})  # fmt: skip
    today = engine().now().astimezone(LOCAL_TZ).date()
    year, quarter = today.year, (today.month - 1) // 3 + 1
    windows = engine().supervision.ranking(s, "department", year, quarter)[:5]
    officers = engine().supervision.ranking(s, "officer", year, quarter)[:5]
    for w in windows:
        w.label = case_view.department_name(w.key)
    return render_template("supervision/statistics.html", rows=rows, by=by, start=start, end=end, bars=bars,
                           trend=trend, windows=windows, officers=officers, year=year, quarter=quarter,
                           groupings=statistics.GROUPINGS,
                           csv_url=url_for("supervision.statistics_page", by=by, format="csv",
                                           **{"from": start.isoformat(), "to": end.isoformat()}))  # fmt: skip


def register(app) -> None:
    """Register the console pages (/supervision: cases, board, statistics) and its JSON API (/api/v1: cases, trail,
    alerts, stats). Here, not in webui/supervision.py: the board's routes join that module's blueprint."""
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
