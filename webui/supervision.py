"""The supervision console (电子监察) pages: case list, case page with the diagram and its replay, supervisor
actions, process page. The alerts board and the statistics are in webui/supervision_board.py (same blueprint).

bpmn-js is the npm package of the repository's package.json, served from node_modules by `vendor` below: no
third-party script is committed, none is loaded from another site.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine import policy
from engine.errors import GovflowError, NotFound
from engine.services.supervision import CASE_ACTIONS
from engine.stages import TASK_STAGES
from engine.supervision import COLOURS, STATUSES, CaseFilter
from webui import case_view
from webui.context import engine, local_time
from webui.reasons import said

bp = Blueprint("supervision", __name__, url_prefix="/supervision")
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
VENDOR_FILES = {
    "bpmn-viewer.js": ("bpmn-js/dist", "bpmn-navigated-viewer.production.min.js"),
    "diagram-js.css": ("bpmn-js/dist/assets", "diagram-js.css"),
    "bpmn-js.css": ("bpmn-js/dist/assets", "bpmn-js.css"),
}
# bpmn-js writes style attributes on the SVG it draws; these pages allow inline styles (never inline scripts).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def viewer():
    """The signed-in user (identity's User)."""
    return current_user.user


def scope():
    return engine().supervision.scope(viewer())


@bp.before_request
@login_required
def _supervisors_only():
    if not policy.decide(policy.subject(engine(), viewer()), "supervise"):
        abort(403)


@bp.after_request
def _diagram_policy(response):
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@bp.get("/vendor/<name>")
def vendor(name: str):
    """bpmn-js from node_modules (installed by `npm install`)."""
    if name not in VENDOR_FILES:
        abort(404)
    folder, filename = VENDOR_FILES[name]
    if not (NODE_MODULES / folder / filename).is_file():
        abort(404, description="bpmn-js is not installed: run `npm install` in the repository")
    return send_from_directory(NODE_MODULES / folder, filename, max_age=3600)


def _departments() -> dict[str, str]:
    return {d.code: d.name for d in engine().identity.departments()}


PAGE_SIZES = (20, 50, 100)  # rows per page a supervisor may choose; the first is the default


def list_filter(args, make, default_size: int = PAGE_SIZES[0]):
    """A list's filter from the query string (`make`: CaseFilter.from_args, …), `per_page` one of PAGE_SIZES."""
    size = args.get("per_page", "")
    chosen = size if size.isdigit() and int(size) in PAGE_SIZES else str(default_size)
    return make({**args.to_dict(), "per_page": chosen})


def list_link(endpoint: str, args):
    """`link(**changes)`: the list's URL with its filters and some of them changed (None removes one)."""
    kept = {k: v for k, v in args.items() if v}

    def link(target: str | None = None, **changes) -> str:
        merged = {**kept, **changes}
        return url_for(target or endpoint, **{k: v for k, v in merged.items() if v is not None})

    return link


def _case_filter() -> CaseFilter:
    f = list_filter(request.args, CaseFilter.from_args)
    if f.stage:  # the stage as the reader names it, in the page's language
        f.stage_keys = engine().supervision.stage_keys(f.stage, _)
    return f


@bp.get("/")
def cases():
    """The case list: filters, colour counts, one page of cases."""
    s = scope()
    f = _case_filter()
    result = engine().supervision.cases(s, f)
    departments = {c: n for c, n in _departments().items() if s.allows(c)}
    elements = case_view.process_element_names(engine(), {r["process"] for r in result.rows})
    return render_template("supervision/cases.html", result=result, f=f, departments=departments,
                           link=list_link("supervision.cases", request.args), colours=COLOURS, statuses=STATUSES,
                           elements=elements, page_sizes=PAGE_SIZES,
                           stage_names=[_(name) for name in TASK_STAGES.values()])  # fmt: skip


@bp.get("/cases.csv")
def cases_csv():
    """The whole filtered set as CSV."""
    stream = engine().supervision.export_csv(scope(), _case_filter())
    return Response(stream, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=supervision-cases.csv"})  # fmt: skip


def _case_view(ref: str) -> dict:
    eng = engine()
    row = eng.supervision.case(scope(), ref)
    case = eng.runtime.describe(row.case_id)
    limits = eng.deadlines.case_limits(row.case_id)
    pv = eng.repository.version(eng.runtime.get(row.case_id).process_version_id)
    tasks = eng.tasks.of_case(row.case_id)
    trail = case_view.history(eng, eng.history.trail(row.case_id), case_view.element_names(eng, pv.key, pv.version),
                              case_view.choice_titles(eng, pv.key, pv.version))  # fmt: skip
    chain = eng.history.verify(row.case_id)[0]
    return {"row": row, "case": case, "limits": limits, "pv": pv, "tasks": tasks, "trail": trail, "chain": chain,
            "colour": eng.supervision.colour(row)}  # fmt: skip


@bp.get("/cases/<ref>")
def case_page(ref: str):
    """The case: its diagram coloured by state, deadlines, audit timeline with replay, supervisor actions."""
    view = _case_view(ref)
    can_act = policy.decide(policy.subject(engine(), viewer()), "suspend",
                            policy.Target(department=view["row"].department))  # fmt: skip
    return render_template("supervision/case.html", departments=_departments(), can_act=can_act.allowed,
                           case_actions=CASE_ACTIONS, **view)  # fmt: skip


def _frame_label(frame, n: int, total: int, names: dict[str, str]) -> str:
    """What the replay shows of a frame: the step, its local time, who did what where, and the reason given."""
    label = _("第 %(n)s / %(total)s 步：%(when)s %(actor)s %(action)s", n=n, total=total, when=local_time(frame.at),
              actor=case_view.person(frame.actor), action=case_view.action_label(frame.action))  # fmt: skip
    if frame.bpmn_id:
        label += f"（{names.get(frame.bpmn_id, frame.bpmn_id)}）"
    return label + (f" — {frame.note}" if frame.note else "")


@bp.get("/cases/<ref>/replay.json")
def case_replay(ref: str):
    """Every frame of the replay (with its `label`) plus the state now (overdue judged now)."""
    eng = engine()
    row = eng.supervision.case(scope(), ref)
    pv = eng.repository.version(eng.runtime.get(row.case_id).process_version_id)
    names = case_view.element_names(eng, pv.key, pv.version)
    frames = eng.supervision.replay(row.case_id)
    labelled = [{**f.to_json(), "label": _frame_label(f, i, len(frames), names)} for i, f in enumerate(frames, 1)]
    now = {**eng.supervision.current_state(row.case_id), "label": _("当前状态（共 %(n)s 条留痕）", n=len(frames))}
    return {"frames": labelled, "now": now}


@bp.get("/processes/<int:version_id>/diagram.bpmn")
def diagram_xml(version_id: int):
    """The BPMN source of a deployed process version, for the viewer."""
    try:
        pv = engine().repository.version(version_id)
    except NotFound:
        abort(404)
    return Response(pv.source, mimetype="application/xml")


@bp.post("/cases/<ref>/<action>")
def case_action(ref: str, action: str):
    """Suspend, resume, terminate or retry with a written reason."""
    if action not in CASE_ACTIONS:
        abort(404)
    try:
        case = engine().supervision.act(action, viewer(), ref, request.form.get("reason", ""))
        flash(_("已执行：%(action)s（办件 %(no)s 当前状态：%(status)s）", action=case_view.action_label(action),
                no=case.receipt_no, status=case_view.status_label(case.status)), "success")  # fmt: skip
    except GovflowError as exc:
        flash(said(exc), "error")
    return redirect(url_for("supervision.case_page", ref=ref))


@bp.post("/tasks/<task_id>/reassign")
def reassign(task_id: str):
    """Give an open task to another officer, with a reason."""
    ref = request.form.get("case", "")
    try:
        task = engine().supervision.reassign(viewer(), task_id, request.form.get("to_user", ""),
                                            request.form.get("reason", ""))  # fmt: skip
        flash(_("任务已改派给 %(user)s", user=case_view.person(task.assignee)), "success")
    except GovflowError as exc:
        flash(said(exc), "error")
    return redirect(url_for("supervision.case_page", ref=ref) if ref else url_for("supervision.cases"))


@bp.get("/processes/<key>")
def process_page(key: str):
    """A process version's diagram with the open and overdue tasks on each activity, and average working days."""
    version = request.args.get("version", type=int)
    counts = engine().supervision.activity(scope(), key, version)
    versions = [p for p in engine().repository.list(latest_only=False) if p.key == key]
    return render_template("supervision/process.html", counts=counts, versions=versions)


@bp.get("/processes/<key>/activity.json")
def process_counts_json(key: str):
    return engine().supervision.activity(scope(), key, request.args.get("version", type=int))
