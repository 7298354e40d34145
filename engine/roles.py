"""Roles: the built-in ones, which carry the platform's permissions (engine/policy.py decides what each may do),
and any other a process designer names in a diagram's candidate groups (`investigator@petition-office`), which is
a task group only: a user holding it sees and works the tasks offered to that group, and nothing more.

A role is a lower-case name (`ROLE_CODE`). `ensure_roles` records a new one the first time a user is given it;
`groups_without_members` tells a deploy which of a diagram's literal groups nobody holds yet (a warning, never a
refusal: the users may be added after the diagram). The identity service offers them (`RoleDirectory`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from engine.errors import InvalidData
from engine.store.identity import ROLES, Membership, Role

ROLE_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# A literal candidate group: role@department (an ${expression} is resolved per case, so it is not checked here).
_GROUP = re.compile(r"^([a-z][a-z0-9_-]{0,31})@([^@\s${}]+)$")


@dataclass(frozen=True)
class RoleInfo:
    code: str
    name: str
    built_in: bool  # carries platform permissions; any other role is a task group only


def check_role_codes(roles) -> tuple[str, ...]:
    """The role codes given, each checked (lower-case, 1-32 letters, digits, '_' or '-', starting with a letter)."""
    roles = tuple(dict.fromkeys([roles] if isinstance(roles, str) else roles or []))
    bad = [r for r in roles if not isinstance(r, str) or not ROLE_CODE.match(r)]
    if bad:
        raise InvalidData(
            f"{', '.join(map(repr, bad))} is not a role name: a role is 1-32 lower-case letters, digits, '_' or '-', "
            "starting with a letter (e.g. investigator)", [("roles", "invalid")],
        )  # fmt: skip
    return roles


def ensure_roles(session, roles, names: dict[str, str] | None = None) -> None:
    """Record the roles not known yet (named by `names`, else by their code), in the caller's transaction."""
    known = set(session.scalars(select(Role.code).where(Role.code.in_(roles))))
    for code in roles:
        if code not in known:
            session.add(Role(code=code, name=(names or {}).get(code) or ROLES.get(code) or code))
    session.flush()


def groups_without_members(session, groups) -> list[str]:
    """The literal `role@department` groups of `groups` that nobody holds (for a deploy's warning)."""
    literal = {g: m.groups() for g in dict.fromkeys(groups) if (m := _GROUP.match(g or ""))}
    if not literal:
        return []
    roles = {r for r, _d in literal.values()}
    query = select(Membership.role, Membership.department).where(Membership.role.in_(roles))
    held = {(role, department) for role, department in session.execute(query)}
    return [g for g, pair in literal.items() if pair not in held]


class RoleDirectory:
    """The roles part of the identity service (`engine.identity`); expects `self.engine`."""

    def add_role(self, code: str, name: str | None = None) -> RoleInfo:
        """Record a role (a task group role a designer named), or rename one; its name is what people see."""
        (code,) = check_role_codes([code])
        name = (name or "").strip() or None
        if name is not None and len(name) > 100:
            raise InvalidData(f"the name of role {code} must have at most 100 characters", [("name", "too long")])
        with self.engine.db.session() as session, session.begin():
            row = session.get(Role, code)
            if row is None:
                row = Role(code=code, name=name or ROLES.get(code) or code)
                session.add(row)
            elif name is not None:
                row.name = name
            return RoleInfo(row.code, row.name, code in ROLES)

    def roles(self) -> list[RoleInfo]:
        """Every role: the built-in ones first, then the others by code."""
        with self.engine.db.session() as session:
            rows = session.execute(select(Role.code, Role.name)).all()
        infos = [RoleInfo(code, name, code in ROLES) for code, name in rows]
        return sorted(infos, key=lambda r: (not r.built_in, r.code))

    def role_codes(self) -> list[str]:
        return [r.code for r in self.roles()]
