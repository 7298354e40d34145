"""The JSON of cases and tasks as the services give it, and the check of the JSON data they take.

Below the services: the runtime and task services, the catalog and the CLI all read and check the same shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from engine.errors import InvalidData
from engine.store import Case, HumanTask


def json_plain(data: dict) -> dict:
    """`data` as plain JSON values (what a JSON column stores and reads back)."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def check_json_object(data, what: str = "data") -> dict:
    """Case and task data must be a JSON object of plain values (the state is JSON)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidData(f"{what} must be a JSON object, got {type(data).__name__}")
    try:
        plain = json.loads(json.dumps(data, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"{what} must hold plain JSON values only: {exc}") from None
    for key in plain:
        if key.startswith("_"):
            raise InvalidData(f"{what} field '{key}': names starting with '_' are reserved", [(key, "reserved")])
    return plain


def task_json(t: HumanTask) -> dict:
    """The JSON of a task row."""
    return {
        "id": t.id, "case_id": t.case_id, "bpmn_id": t.bpmn_id, "name": t.name, "lane": t.lane,
        "candidate_groups": list(t.candidate_groups or []), "assignee": t.assignee, "state": t.state,
        "form_key": t.form_key, "due_at": t.due_at.isoformat() if t.due_at else None,
    }  # fmt: skip


def badge_json(badge: dict | None) -> dict:
    """What a task's JSON says of its time limit, as the inbox's rows (`colour` "none" without a due instant):
    the badge of `DeadlineService.task_badge`."""
    if badge is None:
        return {"colour": "none", "days_left": None, "provisional": False, "stopped": False}
    return {
        "colour": badge["colour"],
        "days_left": badge["days_left"],
        "provisional": badge["provisional"],
        "stopped": badge["stopped"],
    }


def timed_task_json(t: HumanTask, badge: dict | None) -> dict:
    """The JSON of a task row with its clock: the row, the instants it is judged on (due, warn, statutory due)
    and its badge (`badge_json`), as the API and the CLI give a task."""
    instants = {name: value.isoformat() if value else None
                for name, value in (("warn_at", t.warn_at), ("statutory_due_at", t.statutory_due_at))}  # fmt: skip
    return {**task_json(t), **instants, **badge_json(badge)}


def case_json(case: Case, open_tasks: Iterable[HumanTask], process: tuple[str, int]) -> dict:
    """The JSON of a case with its open task rows; `process`: (process key, version number) of its version."""
    key, version = process
    tasks = sorted((t for t in open_tasks if t.state == "open"), key=lambda t: t.created_at)
    return {
        "id": case.id, "receipt_no": case.receipt_no, "check_code": case.check_code, "process": key,
        "version": version,
        "status": case.status, "data": json_plain(case.data), "tasks": [task_json(t) for t in tasks],
        "error": {"element": case.error_element, "message": case.error_message}
        if case.status == "error" else None,
        "created_at": case.created_at.isoformat(), "updated_at": case.updated_at.isoformat(),
        "completed_at": case.completed_at.isoformat() if case.completed_at else None,
        "next_timer_at": case.next_timer_at.isoformat() if case.next_timer_at else None,
    }  # fmt: skip
