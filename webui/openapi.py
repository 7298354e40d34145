"""The OpenAPI 3.1 document of the JSON API (`GET /api/v1/openapi.json`). Its schemas are JSON Schema 2020-12,
so the tests check real responses against them."""

from __future__ import annotations

from engine.services.inbox import COLOURS, FILTERS, SORTS
from webui.api_supervision import openapi_paths


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {
        400: "Malformed request (body not a JSON object, unknown filter)",
        401: "No valid bearer token / wrong user name or password",
        403: "Not allowed for this user (task not offered to them, role missing)",
        404: "No such task or case within the user's reach",
        409: "Already completed, claimed by someone else, or the case moved on",
        422: "Data does not fit the form; `errors` lists each field",
        429: "Account locked after repeated failed sign-ins (Retry-After)",
    }
    return {str(c): _json(_ref("ValidationError" if c == 422 else "Error"), text[c]) for c in codes}


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": _STRING}
_SECURED = [{"bearer": []}]
# What a task says of the clock it is due by (its inbox row and the task alike): instants and colour.
_CLOCK = {
    "warn_at": {**_NULLABLE_STRING, "description": "The warning instant of the stage clock the task is due by"},
    "statutory_due_at": {**_NULLABLE_STRING, "description": "That clock's statutory due instant"},
    "colour": {"enum": list(COLOURS)},
    "days_left": {"type": ["integer", "null"], "description": "Working days; negative when overdue"},
    "provisional": {"type": "boolean"},
}

_OUTCOME = {
    "type": "object", "required": ["outcome"],
    "properties": {"outcome": {"enum": ["delivered", "started", "refused"]}, "case_id": _NULLABLE_STRING,
                   "receipt_no": _NULLABLE_STRING, "process": _STRING, "reason": _STRING},
}  # fmt: skip

SCHEMAS = {
    "PublicStatus": {
        "type": "object",
        "required": ["receipt_no", "status", "stages", "accepted_at", "clock_stops", "missing_materials", "results"],
        "properties": {
            "receipt_no": _STRING, "item_name": _NULLABLE_STRING, "department": _NULLABLE_STRING,
            "department_name": _NULLABLE_STRING,
            "status": {"enum": ["running", "completed", "suspended", "terminated", "error"]},
            "stages": {"type": "array", "items": {"type": "object", "properties": {"key": _STRING, "name": _STRING}}},
            "accepted_at": _STRING, "completed_at": _NULLABLE_STRING, "promised_due": _NULLABLE_STRING,
            "statutory_due": _NULLABLE_STRING, "provisional": {"type": "boolean"},
            "clock_stops": {"type": "array", "items": {"type": "object"}},
            "missing_materials": {"type": "array", "items": _STRING},
            "results": {"type": "array", "items": _STRING},
        },
    },
    "EventMessage": {
        "type": "object", "required": ["id", "kind", "name", "status", "outcome", "sent_at"],
        "properties": {
            "id": {"type": "integer"}, "kind": {"enum": ["message", "signal"]}, "name": _STRING,
            "key": _NULLABLE_STRING, "data": {"type": "object"}, "sent_by": _STRING,
            "source_case_id": _NULLABLE_STRING, "source_element": _NULLABLE_STRING, "sent_at": _STRING,
            "status": {"enum": ["pending", "delivering", "delivered", "undeliverable"]},
            "outcome": {"type": "array", "items": _OUTCOME}, "settled_at": _NULLABLE_STRING,
        },
    },
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string", "description": "One line for a person"}},
    },
    "ValidationError": {
        "type": "object", "required": ["error", "errors"],
        "properties": {
            "error": _STRING,
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": "string", "description": "Path like items.0.name"},
                               "message": _STRING},
            }},
        },
    },
    "Token": {
        "type": "object", "required": ["token", "token_type"],
        "properties": {"token": _STRING, "token_type": {"const": "Bearer"},
                       "expires_at": {"type": "string", "format": "date-time"}, "user": _ref("User")},
    },
    "User": {
        "type": "object", "required": ["username", "department", "roles", "groups"],
        "properties": {"username": _STRING, "display_name": _NULLABLE_STRING, "department": _STRING,
                       "roles": {"type": "array", "items": _STRING},
                       "groups": {"type": "array", "items": _STRING, "description": "role@department"}},
    },
    "Task": {
        "type": "object", "required": ["id", "case_id", "bpmn_id", "state"],
        "properties": {
            "id": _STRING, "case_id": _STRING, "bpmn_id": _STRING, "name": _NULLABLE_STRING, "lane": _NULLABLE_STRING,
            "candidate_groups": {"type": "array", "items": _STRING}, "assignee": _NULLABLE_STRING,
            "state": {"enum": ["open", "completed", "cancelled"]}, "form_key": _NULLABLE_STRING,
            "due_at": _NULLABLE_STRING, "on_behalf_of": {**_NULLABLE_STRING,
                                                        "description": "The absent colleague covered (AB岗)"},
            **_CLOCK,
        },
    },
    "InboxTask": {
        "type": "object",
        "required": ["id", "case_id", "receipt_no", "bpmn_id", "colour", "case_status"],
        "properties": {
            "id": _STRING, "case_id": _STRING, "receipt_no": _STRING, "bpmn_id": _STRING, "name": _NULLABLE_STRING,
            "assignee": _NULLABLE_STRING, "candidate_groups": {"type": "array", "items": _STRING},
            "form_key": _NULLABLE_STRING, "created_at": _STRING, "due_at": _NULLABLE_STRING,
            "item_code": _NULLABLE_STRING, "item_name": _NULLABLE_STRING, "department": _NULLABLE_STRING,
            "applicant_name": _NULLABLE_STRING, "case_status": _STRING, "on_behalf_of": _NULLABLE_STRING, **_CLOCK,
        },
    },
    "Inbox": {
        "type": "object", "required": ["tasks", "total", "page", "per_page", "counts"],
        "properties": {
            "tasks": {"type": "array", "items": _ref("InboxTask")}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "counts": {"type": "object", "description": "Open tasks per colour (filters other than colour)",
                       "properties": {c: {"type": "integer"} for c in COLOURS}, "required": list(COLOURS)},
        },
    },
    "Case": {
        "type": "object", "required": ["id", "receipt_no", "process", "version", "status", "data", "tasks"],
        "properties": {
            "id": _STRING, "receipt_no": _STRING, "process": _STRING, "version": {"type": "integer"},
            "check_code": {**_NULLABLE_STRING, "description": "The code printed on the receipt: with the receipt "
                                                             "number, the public status lookup's key"},
            "status": {"enum": ["running", "completed", "suspended", "terminated", "error"]},
            "data": {"type": "object"}, "tasks": {"type": "array", "items": _ref("Task")},
            "error": {"type": ["object", "null"]}, "created_at": _STRING, "updated_at": _STRING,
            "completed_at": _NULLABLE_STRING, "next_timer_at": _NULLABLE_STRING,
            "attachments": {"type": "array", "items": {"type": "object"}},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Created": {"type": "object", "required": ["id", "receipt_no"],
                "properties": {"id": _STRING, "receipt_no": _STRING}},
}  # fmt: skip


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _action(summary: str, body: dict | None = None) -> dict:
    responses = {"200": _json(_ref("Task"), "The task after the action"), **_errors(401, 403, 404, 409)}
    op = {"summary": summary, "security": _SECURED, "parameters": [_TASK_ID], "responses": responses}
    if body is not None:
        op["requestBody"] = _body(body)
        op["responses"].update(_errors(422))
    return {"post": op}


def document() -> dict:
    """The OpenAPI 3.1 description of /api/v1."""
    doc = {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "govflow API", "version": "1",
                 "description": "Inbox, tasks and cases of the service centre. Errors are JSON {error}."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from POST /token"}},
        },
        "paths": {**_task_paths(), **_case_paths(), **_message_paths(), **_public_paths()},
    }  # fmt: skip
    for path, operations in openapi_paths().items():  # the supervision endpoints share some paths (GET /cases)
        doc["paths"].setdefault(path, {}).update(operations)
    return doc


def _inbox_query() -> list[dict]:
    """The inbox's query parameters: its filters, sort and paging."""
    query = [{"name": name, "in": "query", "required": False, "schema": _STRING} for name in FILTERS]
    query[FILTERS.index("colour")]["description"] = "Comma-separated: " + ", ".join(COLOURS)
    query[FILTERS.index("assignee")]["description"] = "me, unassigned, or a covered colleague's user name"
    query[FILTERS.index("department")]["description"] = "Department code; its sub-departments are included"
    return query + [
        {"name": "sort", "in": "query", "schema": {"enum": list(SORTS), "default": "due"}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 100, "default": 20}},
    ]  # fmt: skip


def _task_paths() -> dict:
    return {
        "/token": {"post": {
            "summary": "Sign in: a bearer token for the user",
            "requestBody": _body({"type": "object", "required": ["username", "password"],
                                  "properties": {"username": _STRING, "password": _STRING}}),
            "responses": {"200": _json(_ref("Token"), "A new token"), **_errors(400, 401, 422, 429)},
        }},
        "/tasks": {"get": {
            "summary": "The inbox: own tasks plus the unclaimed tasks of the user's groups",
            "security": _SECURED, "parameters": _inbox_query(),
            "responses": {"200": _json(_ref("Inbox"), "One page, the total and counts per colour"),
                          **_errors(401, 422)},
        }},
        "/tasks/{task_id}": {"get": {
            "summary": "One task with its form (JSON Schema)", "security": _SECURED, "parameters": [_TASK_ID],
            "responses": {"200": _json({"allOf": [_ref("Task"), {"type": "object", "properties": {
                "form": {"type": ["object", "null"]}}}]}, "The task"), **_errors(401, 404)},
        }},
        "/tasks/{task_id}/claim": _action("Claim the task (a backup may take an absent colleague's task)"),
        "/tasks/{task_id}/unclaim": _action("Give the task back to its groups"),
        "/tasks/{task_id}/delegate": _action(
            "Hand the task to a colleague of the same department",
            {"type": "object", "required": ["to"], "properties": {"to": _STRING}},
        ),
        "/tasks/{task_id}/complete": {"post": {
            "summary": "Complete the task with the form's data; the case runs on",
            "security": _SECURED, "parameters": [_TASK_ID],
            "requestBody": _body({"type": "object", "properties": {"data": {"type": "object"}}}),
            "responses": {"200": _json(_ref("Case"), "The case after the step"),
                          **_errors(400, 401, 403, 404, 409, 422)},
        }},
    }  # fmt: skip


def _case_paths() -> dict:
    return {
        "/cases": {"post": {
            "summary": "Accept an application of a catalog item, or start a process without a catalog item",
            "security": _SECURED,
            "requestBody": _body({"oneOf": [
                {"type": "object", "required": ["item_code", "applicant"],
                 "properties": {"item_code": _STRING, "applicant": {"type": "object", "required": ["name"]},
                                "proxy": {"type": "object"}, "data": {"type": "object"}}},
                {"type": "object", "required": ["process_key"],
                 "properties": {"process_key": _STRING, "data": {"type": "object"}}},
            ]}),
            "responses": {"201": _json(_ref("Created"), "The case was started"),
                          **_errors(400, 401, 403, 404, 422)},
        }},
        "/cases/{case_id}": {"get": {
            "summary": "A case with its open tasks, files and history",
            "security": _SECURED,
            "parameters": [{"name": "case_id", "in": "path", "required": True, "schema": _STRING,
                            "description": "Case id or receipt number"}],
            "responses": {"200": _json(_ref("Case"), "The case"), **_errors(401, 404)},
        }},
        "/openapi.json": {"get": {"summary": "This document",
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    }  # fmt: skip


def _message_paths() -> dict:
    body = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": _STRING, "data": {"type": "object", "description": "Its fields become case data"}},
    }
    keyed = {
        **body,
        "properties": {
            **body["properties"],
            "key": {
                **_STRING,
                "description": "The correlation key the waiting case waits for (its receipt number unless the "
                "catch event's correlationKey property names another)",
            },
        },
    }
    answer = {
        "200": _json(
            _ref("EventMessage"), "What became of it: delivered (cases reached or started) or kept as undeliverable"
        ),
        **_errors(400, 401, 403, 422),
    }
    return {
        "/messages": {"post": {
            "summary": "Send a BPMN message: to the running cases waiting with its key, else it starts the processes "
                       "with that message start event, else it is kept as undeliverable (administrators)",
            "security": _SECURED, "requestBody": _body(keyed), "responses": answer,
        }},
        "/signals": {"post": {
            "summary": "Broadcast a BPMN signal to every running case waiting for it and to every process that "
                       "starts on it (administrators)",
            "security": _SECURED, "requestBody": _body(body), "responses": answer,
        }},
    }  # fmt: skip


def _public_paths() -> dict:
    return {
        "/public/cases/{receipt_no}": {"get": {
            "summary": "进度查询: a case's public status by receipt number and check code (no token; rate-limited "
                       "per address; a wrong code answers as an unknown number does)",
            "parameters": [{"name": "receipt_no", "in": "path", "required": True, "schema": _STRING},
                           {"name": "code", "in": "query", "required": True, "schema": _STRING,
                            "description": "The check code printed on the receipt"}],
            "responses": {"200": _json(_ref("PublicStatus"), "Where the case stands, and nothing more"),
                          "404": _json(_ref("Error"), "No case with this receipt number and check code"),
                          "429": _json(_ref("Error"), "Too many lookups from this address")},
        }},
    }  # fmt: skip
