"""The JSON API (`/api/v1`): the same rules as the pages, for other systems and scripts.

Bearer tokens from `POST /api/v1/token`; no cookies, so CSRF does not apply. Every error is JSON
`{"error": message}` (422 adds `errors: [{field, message}]`) with the status of the platform's error,
never an HTML page. The document is at `/api/v1/openapi.json` (webui/openapi.py).
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from engine import policy, public_status
from engine.case_json import timed_task_json
from engine.errors import GovflowError, InvalidData, NotFound
from engine.identity import AccountLocked, AuthenticationFailed
from engine.services import inbox as inbox_query
from engine.services.history import event_json
from webui import public
from webui.openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)


def _engine():
    return current_app.extensions["govflow"]


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GovflowError("the request body must be a JSON object (Content-Type: application/json)")
    return body


def _actor():
    """The Actor of the bearer token (401 without a valid one)."""
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("send 'Authorization: Bearer <token>' (get one from POST /api/v1/token)")
        identity = _engine().identity
        g.actor = identity.actor_for_token(token.strip())
    return g.actor


def _error(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="govflow"'
    return response


@bp.errorhandler(GovflowError)
def _govflow_error(exc: GovflowError):
    extra = {}
    if isinstance(exc, InvalidData):
        extra["errors"] = [{"field": f, "message": m} for f, m in exc.errors]
    response = _error(exc.http_status, str(exc), **extra)
    if isinstance(exc, AccountLocked):
        response.headers["Retry-After"] = str(max(1, int((exc.until - _engine().now()).total_seconds())))
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    response = _error(exc.code or 500, exc.description or exc.name)
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    log.exception("API %s %s failed", request.method, request.path)
    return _error(500, "internal error; the request was not applied (see the server log)")


# -- sign-in
@bp.post("/token")
def token():
    body = _body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        missing = [(k, "required") for k in ("username", "password") if not isinstance(body.get(k), str)]
        raise InvalidData("username and password are required strings", missing)
    identity = _engine().identity
    user = identity.authenticate(username, password)
    issued = identity.issue_token(user.username)
    expires = identity.token_expiry(issued)
    return {
        "token": issued, "token_type": "Bearer", "expires_at": expires.isoformat() if expires else None,
        "user": _user_json(user),
    }  # fmt: skip


def _user_json(user) -> dict:
    return {"username": user.username, "display_name": user.display_name, "department": user.department,
            "roles": list(user.roles), "groups": list(user.groups)}  # fmt: skip


@bp.get("/me")
def me():
    actor = _actor()
    return {**_user_json(actor.user), "acting_groups": list(actor.groups), "covers": list(actor.covers)}


# -- tasks
@bp.get("/tasks")
def tasks():
    actor = _actor()
    args = request.args
    unknown = sorted(set(args) - {*inbox_query.FILTERS, "sort", "page", "per_page"})
    if unknown:
        known = ", ".join(inbox_query.FILTERS)
        raise InvalidData(f"unknown query parameter {', '.join(unknown)}; filters are {known}, plus sort, page, "
                          "per_page", [(unknown[0], "unknown")])  # fmt: skip
    filters = {k: args.get(k) for k in inbox_query.FILTERS if args.get(k)}
    rows, total, counts = _engine().tasks.inbox(
        actor, filters, args.get("sort", "due"), _int_arg("page", 1), _int_arg("per_page", 20)
    )
    return {"tasks": [r.as_json() for r in rows], "total": total, "page": _int_arg("page", 1),
            "per_page": _int_arg("per_page", 20), "counts": counts}  # fmt: skip


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidData(f"{name} must be a whole number, not {value!r}", [(name, "not a number")]) from None


def _task_out(row, actor) -> dict:
    """A task as the API gives it: its row, the clock's instants and colour (as its inbox row), whom it is for."""
    return {**timed_task_json(row, _engine().deadlines.task_badge(row)),
            "on_behalf_of": policy.on_behalf_of(actor, row)}  # fmt: skip


@bp.get("/tasks/<task_id>")
def task(task_id: str):
    actor = _actor()
    eng = _engine()
    row = eng.tasks.get_for(actor, task_id)
    form = None
    if row.form_key and eng.forms.exists(row.form_key):
        f = eng.forms.get(row.form_key)
        form = {"key": f.key, "title": f.title, "schema": f.schema}
    return {**_task_out(row, actor), "form": form}


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    actor = _actor()
    return _task_out(_engine().tasks.claim(task_id, actor=actor), actor)


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str):
    actor = _actor()
    return _task_out(_engine().tasks.unclaim(task_id, actor=actor), actor)


@bp.post("/tasks/<task_id>/delegate")
def delegate(task_id: str):
    actor = _actor()
    to = _body().get("to")
    if not isinstance(to, str) or not to.strip():
        raise InvalidData("'to' (the colleague's user name) is required", [("to", "required")])
    return _task_out(_engine().tasks.delegate(task_id, to_user=to.strip(), actor=actor), actor)


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str):
    actor = _actor()
    body = _body()
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise InvalidData("'data' must be a JSON object of the form's fields", [("data", "not an object")])
    eng = _engine()
    _row, case = eng.tasks.complete(task_id, data=data, actor=actor, with_case=True)
    return case


# -- cases
@bp.post("/cases")
def start_case():
    """Accept an application for a catalog item, or start a case of a process that runs no item; who may is
    the permission policy's answer (engine.policy), asked by the service."""
    actor = _actor()
    body = _body()
    eng = _engine()
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise InvalidData("'data' must be a JSON object", [("data", "not an object")])
    if body.get("item_code") is not None:
        applicant = body.get("applicant")
        if not isinstance(applicant, dict) or not applicant.get("name"):
            raise InvalidData("'applicant' must be an object with at least a name", [("applicant.name", "required")])
        proxy = body.get("proxy")
        if proxy is not None and not isinstance(proxy, dict):
            raise InvalidData("'proxy' must be an object {name, phone}", [("proxy", "not an object")])
        case = eng.catalog.accept(actor, str(body["item_code"]), applicant, data, proxy=proxy)
    elif body.get("process_key") is not None:
        case = eng.runtime.start_as(actor, str(body["process_key"]), data)
    else:
        raise InvalidData("give item_code (with applicant) or process_key", [("item_code", "required")])
    response = jsonify({"id": case.id, "receipt_no": case.receipt_no})
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_case", case_id=case.id)
    return response


@bp.get("/cases/<case_id>")
def get_case(case_id: str):
    eng = _engine()
    described = eng.runtime.describe_for(_actor(), case_id)
    attachments = [
        {"sha256": a.sha256, "size": a.size, "filename": a.filename, "content_type": a.content_type}
        for a in eng.attachments.for_case(described["id"])
    ]
    history = [{k: v for k, v in event_json(e).items() if k != "hash"} for e in eng.history.trail(described["id"])]
    return {**described, "attachments": attachments, "history": history}


@bp.get("/openapi.json")
def openapi():
    return document()


# -- the public side (no token)
@bp.get("/public/cases/<receipt_no>")
@public.limited
def public_case(receipt_no: str):
    """A case's public status by receipt number and check code (`?code=`): the same 404 for both mismatches."""
    view = public_status.look_up(_engine(), receipt_no, request.args.get("code"))
    if view is None:
        raise NotFound("no case with this receipt number and check code")
    return public_status.public_json(_engine(), view)


# -- messages and signals between cases
@bp.post("/messages")
def send_message():
    body = _body()
    return _engine().messaging.send(_actor(), "message", body.get("name"), key=body.get("key"), data=body.get("data"))


@bp.post("/signals")
def send_signal():
    body = _body()
    return _engine().messaging.send(_actor(), "signal", body.get("name"), key=body.get("key"), data=body.get("data"))


@bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_path(unknown: str):
    """Unknown API paths and wrong methods answer in JSON too (routing errors never reach a blueprint)."""
    adapter = current_app.url_map.bind("", url_scheme=request.scheme)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown_path":
            allowed.append(method)
    if allowed:
        response = _error(405, f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return _error(404, f"no API endpoint {request.path} (see /api/v1/openapi.json)")
