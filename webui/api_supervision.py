"""The supervision part of the JSON API (`/api/v1`): cases, a case's trail with its replay, alerts, statistics,
activity counts. Bearer tokens as in webui/api.py; the viewer's supervision scope applies to every answer.
`openapi_paths()` gives these paths for the OpenAPI document."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, g, jsonify, request

from engine import alerts_board
from engine.clock import LOCAL_TZ
from engine.errors import GovflowError, InvalidData
from engine.identity import AuthenticationFailed
from engine.services.history import event_json
from engine.supervision import CaseFilter

bp = Blueprint("api_supervision", __name__, url_prefix="/api/v1")


def _engine():
    return current_app.extensions["govflow"]


def _scope():
    if "supervision_scope" not in g:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("send 'Authorization: Bearer <token>' (get one from POST /api/v1/token)")
        g.supervision_user = _engine().identity.user_for_token(token.strip())
        g.supervision_scope = _engine().supervision.scope(g.supervision_user)
    return g.supervision_scope


@bp.errorhandler(GovflowError)
def _error(exc: GovflowError):
    body = {"error": str(exc)}
    if isinstance(exc, InvalidData):
        body["errors"] = [{"field": f, "message": m} for f, m in exc.errors]
    response = jsonify(body)
    response.status_code = exc.http_status
    if exc.http_status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="govflow"'
    return response


@bp.get("/cases")
def cases():
    result = _engine().supervision.cases(_scope(), CaseFilter.from_args(request.args))
    return {"cases": result.rows, "total": result.total, "total_capped": result.total_capped,
            "counts": result.counts, "page": result.page, "per_page": result.per_page}  # fmt: skip


@bp.get("/cases/<case_ref>/trail")
def trail(case_ref: str):
    eng = _engine()
    row = eng.supervision.case(_scope(), case_ref)
    chain = eng.history.verify(row.case_id)[0]
    return {
        "case_id": row.case_id, "receipt_no": row.receipt_no,
        "chain": {"ok": chain.ok, "events": chain.events, "first_bad_seq": chain.first_bad_seq, "reason": chain.reason},
        "events": [event_json(e) for e in eng.history.trail(row.case_id)],
        "frames": [f.to_json() for f in eng.supervision.replay(row.case_id)],
        "now": eng.supervision.current_state(row.case_id),
    }  # fmt: skip


@bp.get("/alerts")
def alerts():
    f = alerts_board.AlertFilter(
        kind=request.args.get("kind") or None, department=request.args.get("department") or None,
        officer=request.args.get("officer") or None, include_closed=request.args.get("closed") in ("1", "true"),
    )  # fmt: skip
    return {"alerts": _engine().supervision.alerts(_scope(), f)}


def _date(name: str, default: date) -> date:
    value = request.args.get(name)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidData(f"{name}: '{value}' is not a date YYYY-MM-DD", [(name, "bad date")]) from None


@bp.get("/stats")
def stats():
    today = _engine().now().astimezone(LOCAL_TZ).date()
    by = request.args.get("by") or "department"
    start, end = _date("from", today.replace(day=1)), _date("to", today)
    _scope()  # 401 without a valid token
    scope = _engine().supervision.scope(g.supervision_user, "read_statistics")
    rows = _engine().supervision.figures(scope, by, start, end)
    return {"by": by, "from": start.isoformat(), "to": end.isoformat(), "rows": [r.to_json() for r in rows]}


@bp.get("/processes/<key>/activity-counts")
def process_activity(key: str):
    version = request.args.get("version")
    if version is not None and not version.isdigit():
        raise InvalidData(f"version: '{version}' is not a whole number", [("version", "not a number")])
    return _engine().supervision.activity(_scope(), key, int(version) if version else None)


def openapi_paths() -> dict:
    """These endpoints as OpenAPI 3.1 path items, for the document of webui/openapi.py to merge."""
    secured = [{"bearer": []}]
    text = {"type": "string"}

    def q(name, description, schema=None):
        return {"name": name, "in": "query", "required": False, "schema": schema or text, "description": description}

    errors = {
        str(c): {"description": d}
        for c, d in (
            (401, "No or bad token"),
            (403, "Not a supervisor"),
            (404, "Not in the supervision scope"),
            (422, "Bad parameter"),
        )
    }
    ok = {"200": {"description": "JSON", "content": {"application/json": {"schema": {"type": "object"}}}}, **errors}
    case_filters = [
        q("receipt_no", "Receipt number prefix"), q("applicant", "Applicant name prefix"), q("item", "Item code"),
        q("department", "Department code; sub-departments included, limited to the caller's scope"),
        q("stage", "Stage code"), q("status", "running|suspended|error|completed|terminated"),
        q("colour", "green|yellow|red|red_plus"), q("officer", "Window officer (user name)"),
        q("received_from", "YYYY-MM-DD"), q("received_to", "YYYY-MM-DD"), q("completed_from", "YYYY-MM-DD"),
        q("completed_to", "YYYY-MM-DD"), q("sort", "created_at|receipt_no|due_at|completed_at|department|item|"
                                                   "status, '-' prefix for descending"),
        q("page", "From 1", {"type": "integer", "minimum": 1}),
        q("per_page", "1-200", {"type": "integer", "minimum": 1, "maximum": 200}),
    ]  # fmt: skip
    path_ref = {
        "name": "case_ref",
        "in": "path",
        "required": True,
        "schema": text,
        "description": "Case id or receipt no",
    }
    return {
        "/cases": {"get": {"summary": "Supervision case list: filtered, sorted page, total and counts per colour",
                           "security": secured, "parameters": case_filters, "responses": ok}},
        "/cases/{case_ref}/trail": {"get": {"summary": "Audit trail, chain verification and replay frames of a case",
                                            "security": secured, "parameters": [path_ref], "responses": ok}},
        "/alerts": {"get": {"summary": "Open supervision alerts (time limits and procedure rules) of the scope",
                            "security": secured, "responses": ok,
                            "parameters": [q("kind", "yellow|red|red_plus|rule code"), q("department", "Department"),
                                           q("officer", "User name"), q("closed", "1: include acknowledged")]}},
        "/stats": {"get": {"summary": "Performance figures of the cases received in a window",
                           "security": secured, "responses": ok,
                           "parameters": [q("by", "department|item|officer|month|quarter"), q("from", "YYYY-MM-DD"),
                                          q("to", "YYYY-MM-DD")]}},
        "/processes/{key}/activity-counts": {"get": {
            "summary": "Open and overdue tasks and average working days per activity of a process version",
            "security": secured, "responses": ok,
            "parameters": [{"name": "key", "in": "path", "required": True, "schema": text},
                           q("version", "Process version (default latest)", {"type": "integer"})]}},
    }  # fmt: skip
