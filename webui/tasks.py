"""The task page: case header with its time limits, materials and uploaded files, the case history so far, and
the task's form rendered from its JSON Schema; completing it, with errors beside each field and nothing the
user typed lost (also when someone else completed the task first)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from engine.attachments import download_headers
from engine.errors import Conflict, Forbidden, GovflowError, InvalidData, NotFound
from engine.forms import Field, Form
from webui import case_view
from webui.context import current_actor, engine
from webui.reasons import said

bp = Blueprint("tasks", __name__)
OPINION = "opinion"


def _load(task_id: str, *, open_only: bool = True):
    """The task when the signed-in user may see it; 404 otherwise, so another department's task does not
    exist for them. A task that is no longer open is only loaded when asked (the conflict page)."""
    eng = engine()
    actor = current_actor()
    try:
        task = eng.tasks.get_for(actor, task_id)
    except NotFound:
        abort(404)
    if open_only and task.state != "open":
        abort(404)
    return eng, task, actor


def _form(eng, task):
    """The task's form, or a form with only the opinion when the diagram names none."""
    if task.form_key:
        return eng.forms.get(task.form_key)
    field = Field(name=OPINION, title="审批意见", type="string", widget="textarea", max_length=2000)
    schema = {"type": "object", "properties": {OPINION: {"type": "string", "maxLength": 2000}}}
    return Form(key="", title=task.name or "", schema=schema, fields=[field])


def _defaults(form) -> MultiDict:
    values = MultiDict()
    for f in form.fields:
        if f.default is None:
            continue
        if isinstance(f.default, list):
            for v in f.default:
                values.add(f.name, str(v))
        elif isinstance(f.default, bool):
            if f.default:
                values.add(f.name, "true")
        else:
            values.add(f.name, str(f.default))
    return values


def _error_map(errors) -> dict[str, str]:
    """Field paths (items.0.name) as the names of the inputs they belong to (items-0-name)."""
    found: dict[str, str] = {}
    for path, message in errors:
        found.setdefault(path.replace(".", "-"), message)
    return found


def _context(eng, task, form, values, errors=None, conflict=None):
    view = eng.runtime.describe(task.case_id)
    data = view["data"]
    names = case_view.element_names(eng, view["process"], view["version"])
    return {
        "task": task, "case": view, "data": data, "applicant": data.get("applicant") or {},
        "proxy": data.get("proxy"), "limits": case_view.time_limits(eng, task.case_id),
        "due_badge": case_view.task_badge(eng, task),
        "materials": case_view.materials(data), "files": eng.attachments.for_case(task.case_id),
        "history": case_view.history(eng, eng.history.trail(task.case_id), names,
                                     case_view.choice_titles(eng, view["process"], view["version"])), "form": form,
        "values": values, "errors": _error_map(errors or []), "conflict": conflict,
        "applicant_kind": case_view.applicant_kind(data.get("applicant") or {}),
    }  # fmt: skip


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id):
    eng, task, _actor = _load(task_id, open_only=False)
    if task.state != "open":
        flash(_("该任务已办理完毕（%(who)s）。", who=case_view.person(task.completed_by) or "—"), "info")
        return redirect(url_for("inbox.index"))
    form = _form(eng, task)
    return render_template("task.html", **_context(eng, task, form, _defaults(form)))


def _with_uploads(eng, task, form, values: MultiDict) -> list[tuple[str, str]]:
    """Store the files of file fields; the field's value becomes the file's SHA-256 (kept on a re-render)."""
    errors = []
    for f in form.fields:
        if f.widget != "file":
            continue
        upload = request.files.get(f.name)
        if upload is None or not upload.filename:
            continue
        try:
            stored = eng.attachments.put(upload.stream, upload.filename, upload.mimetype, task.case_id,
                                         current_user.username)  # fmt: skip
        except InvalidData as exc:
            errors.append((f.name, str(exc)))
        else:
            values.setlist(f.name, [stored.sha256])
    return errors


@bp.post("/tasks/<task_id>")
@login_required
def complete(task_id):
    eng, task, actor = _load(task_id, open_only=False)
    form = _form(eng, task)
    values = MultiDict(request.form)
    values.pop("csrf_token", None)
    if task.state != "open":
        return _conflict(eng, task, form, values, _("此任务已由 %(who)s 办理完毕。", who=task.completed_by or "—"))
    upload_errors = _with_uploads(eng, task, form, values)
    if form.key:
        data = eng.forms.coerce(form.key, values)
        errors = upload_errors + eng.forms.validate(form.key, data)
    else:
        opinion = values.get(OPINION, "").strip()
        data, errors = ({OPINION: opinion} if opinion else {}), upload_errors
    if errors:
        flash(_("表单有 %(n)s 处需要修改，请查看标红的字段。", n=len(errors)), "error")
        strays = [path for path, _message in errors if path != "_form" and form.field(path.split(".")[0]) is None]
        if strays:  # no field of the form to mark: name them
            flash(_("提交的数据含有表单没有的字段，未予办理：%(names)s", names="、".join(strays)), "error")
        return render_template("task.html", **_context(eng, task, form, values, errors)), 422
    try:
        eng.tasks.complete(task.id, actor.username, data, actor=actor)
    except InvalidData as exc:
        flash(_("表单有需要修改的地方：") + str(exc), "error")
        return render_template("task.html", **_context(eng, task, form, values, exc.errors)), 422
    except (Conflict, Forbidden) as exc:
        return _conflict(eng, task, form, values, said(exc))
    flash(_("已办理完成：%(task)s（办件编号 %(no)s）。", task=task.name or task.bpmn_id, no=_receipt(eng, task)),
          "success")  # fmt: skip
    return redirect(url_for("inbox.index"))


def _conflict(eng, task, form, values, detail: str):
    """Someone else was quicker (or the case moved on): say so and keep everything the user typed."""
    message = _("您的提交未生效：此任务已由他人办理或流程已推进。您填写的内容保留在下方，可复制留存。")
    task = eng.tasks.get(task.id)
    return render_template("task.html", **_context(eng, task, form, values, conflict=f"{message}（{detail}）")), 409


def _receipt(eng, task) -> str:
    try:
        return eng.runtime.get(task.case_id).receipt_no
    except GovflowError:
        return ""


@bp.post("/tasks/<task_id>/files")
@login_required
def upload(task_id):
    """Add a file to the case's materials from the task page."""
    eng, task, _actor = _load(task_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择要上传的文件。"), "error")
    else:
        try:
            stored = eng.attachments.put(upload.stream, upload.filename, upload.mimetype, task.case_id,
                                         current_user.username)  # fmt: skip
        except InvalidData as exc:
            flash(str(exc), "error")
        else:
            flash(_("已上传：%(name)s", name=stored.filename), "success")
    return redirect(url_for("tasks.show", task_id=task.id) + "#materials")


@bp.get("/tasks/<task_id>/files/<sha256>")
@login_required
def download(task_id, sha256):
    """A file of the task's case, always as a download (never rendered by the browser)."""
    eng, task, _actor = _load(task_id)
    records = {a.sha256: a for a in eng.attachments.for_case(task.case_id)}
    if sha256 not in records:
        abort(404)
    attachment = records[sha256]  # this case's record: the name it was uploaded under here
    _stored, path = eng.attachments.get(sha256)
    response: Response = send_file(path, mimetype=attachment.content_type, conditional=False, max_age=0)
    for key, value in download_headers(attachment).items():
        response.headers[key] = value
    return response
