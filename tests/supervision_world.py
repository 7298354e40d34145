"""A small county for the supervision tests: departments, supervisors, officers, and helpers that walk cases.

County `qx` with the market supervision bureau `qx-scjg` and two towns (`town-a`, `town-b`) with one village each.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher

FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "correct-horse-9"

DEPARTMENTS = [
    ("qx", "示范县", "county", None),
    ("qx-scjg", "县市场监督管理局", "county", "qx"),
    ("town-a", "甲镇", "town", "qx"),
    ("town-a-v1", "甲镇一村", "village", "town-a"),
    ("town-b", "乙镇", "town", "qx"),
    ("town-b-v1", "乙镇一村", "village", "town-b"),
]
USERS = [
    ("sup.county", "qx", ["supervisor"]),
    ("sup.a", "town-a", ["supervisor"]),
    ("sup.b", "town-b", ["supervisor"]),
    ("leader.a", "town-a", ["leader"]),
    ("clerk.a", "town-a", ["clerk", "reviewer", "approver"]),
    ("clerk.b", "town-b", ["clerk", "reviewer", "approver"]),
    ("clerk.a2", "town-a", ["clerk"]),
    ("officer.m", "qx-scjg", ["officer", "legal_reviewer", "approver", "clerk", "reviewer"]),
]


def build(engine) -> None:
    """Departments, users and the two test procedures."""
    engine.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    for code, name, level, parent in DEPARTMENTS:
        engine.identity.add_department(code, name, level, parent)
    for username, department, roles in USERS:
        engine.identity.add_user(username, PASSWORD, department, roles)
    engine.repository.deploy_file(FIXTURES / "supervised_approval.bpmn", "designer")
    engine.repository.deploy_file(FIXTURES / "supervised_penalty.bpmn", "designer")


def user(engine, username: str):
    return engine.identity.get_user(username)


def start(
    engine,
    department: str,
    *,
    item: str = "SCJG-XK-001",
    applicant: str = "张三",
    officer: str = "clerk.a",
    process: str = "supervised_approval",
    **extra,
):
    data = {
        "department": department,
        "item_code": item,
        "item_name": "食品经营许可",
        "handling": "promised",
        "applicant": {"name": applicant, "id_no": "110101199001011234", "kind": "person"},
        **extra,
    }
    return engine.runtime.start(process, data, started_by=officer)


def task_of(engine, case_id: str, bpmn_id: str | None = None):
    tasks = engine.tasks.query(case_id=case_id)
    if bpmn_id is not None:
        tasks = [t for t in tasks if t.bpmn_id == bpmn_id]
    assert tasks, f"no open task {bpmn_id or ''} on case {case_id}"
    return tasks[0]


def complete(engine, case_id: str, bpmn_id: str, actor: str, data: dict | None = None):
    return engine.tasks.complete(task_of(engine, case_id, bpmn_id).id, actor, data or {})


def approve_all(engine, clock, case_id: str, actor: str, *, gap=timedelta(hours=2)):
    """Walk a case from acceptance to the delivered certificate, `gap` between the steps."""
    for bpmn_id, data in (("accept", {"outcome": "accept"}), ("review", {"opinion": "符合条件"}),
                          ("decide", {"decision": "approve"}), ("certificate", {})):  # fmt: skip
        complete(engine, case_id, bpmn_id, actor, data)
        clock.advance(gap)
