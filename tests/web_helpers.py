"""Helpers of the web page tests: signing in, posting with the CSRF token, starting and accepting cases."""

from __future__ import annotations

import re

PASSWORD = "correct-horse"


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def post(client, path: str, data: dict | None = None, **kwargs):
    """POST with the session's CSRF token (as the page's form would send it)."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/inbox")}, **kwargs)


def start_case(engine, item: str = "MKT-001", applicant_name: str = "示范县鑫源餐饮管理有限公司",
               materials=("申请书", "营业执照", "场所平面图")):  # fmt: skip
    applicant = {"kind": "organisation", "name": applicant_name, "id_no": "91330100MA2XXXX01K", "phone": "13900000000"}
    return engine.catalog.apply(item, applicant, {"materials": list(materials)}, actor="li.clerk")


def accept_case(engine, case) -> None:
    """Complete the acceptance task as the market clerk (the case then waits for review)."""
    actor = engine.identity.actor("li.clerk")
    task = engine.tasks.query(case_id=case.id)[0]
    engine.tasks.claim(task.id, actor=actor)
    engine.tasks.complete(task.id, data={"accept_outcome": "accept", "opinion": "予以受理。"}, actor=actor)


def open_task(engine, case, bpmn_id: str | None = None):
    tasks = [t for t in engine.tasks.query(case_id=case.id) if bpmn_id is None or t.bpmn_id == bpmn_id]
    assert tasks, f"no open task {bpmn_id or ''} in case {case.receipt_no}"
    return tasks[0]


def text(response) -> str:
    return response.get_data(as_text=True)
