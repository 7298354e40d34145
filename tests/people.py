"""A small organisation for the identity, inbox and API tests: two county departments, one user per role in
market supervision, a few in housing, a cheap password hash so that tests stay fast."""

from __future__ import annotations

from argon2 import PasswordHasher

from engine.store.identity import ROLES

PASSWORD = "correct-horse-9"
MARKET = "qx-scjg"
HOUSING = "qx-zjj"

DEPARTMENTS = [
    ("city", "示范市人民政府", "city", None),
    ("qx", "示范县人民政府", "county", "city"),
    (MARKET, "示范县市场监督管理局", "county", "qx"),
    (HOUSING, "示范县住房和城乡建设局", "county", "qx"),
    ("town-a", "甲镇人民政府", "town", "qx"),
    ("village-a1", "甲镇一村", "village", "town-a"),
]


def role_user(role: str, department: str = MARKET) -> str:
    return f"{role.replace('_', '-')}.{department.split('-')[-1]}"


def seed_people(engine) -> None:
    """Departments; in market supervision one user per role plus a second reviewer; in housing a clerk, a
    reviewer and an approver."""
    identity = engine.identity
    identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    for code, name, level, parent in DEPARTMENTS:
        identity.add_department(code, name, level, parent)
    for role in ROLES:
        identity.add_user(role_user(role), PASSWORD, MARKET, [role], display_name=f"市场{ROLES[role]}")
    identity.add_user("reviewer2.scjg", PASSWORD, MARKET, ["reviewer"], display_name="审查二")
    for role in ("clerk", "reviewer", "approver"):
        identity.add_user(role_user(role, HOUSING), PASSWORD, HOUSING, [role])
