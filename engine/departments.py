"""The department tree of identity: departments with their level, parent and leader, loaded from
processes/departments.toml or added one by one, and the scopes a department sees (its own and those below)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from engine.errors import InvalidData, NotFound
from engine.store.identity import LEVELS, Department

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name: str
    level: str
    parent: str | None
    leader: str | None
    supervises: str | None = None


class DepartmentDirectory:
    """The department methods of the identity service (`engine.identity`)."""

    def add_department(self, code: str, name: str, level: str, parent: str | None = None,
                       leader: str | None = None, supervises: str | None = None) -> DepartmentInfo:  # fmt: skip
        """Add or update one department; its parent must exist and sit at the same level or above. `supervises`
        names the department whose subtree a supervision office watches (default: its own)."""
        with self.engine.db.session() as session, session.begin():
            return self._put_department(session, code, name, level, parent, leader, "department", supervises)

    def _put_department(self, session, code, name, level, parent, leader, where: str,
                        supervises: str | None = None) -> DepartmentInfo:  # fmt: skip
        if not isinstance(code, str) or not _CODE.match(code):
            raise InvalidData(f"{where}: code {code!r} must be lower-case ascii letters, digits and '-'")
        if not isinstance(name, str) or not name.strip():
            raise InvalidData(f"{where} {code}: name is required")
        if level not in LEVELS:
            raise InvalidData(f"{where} {code}: level {level!r} must be one of {', '.join(LEVELS)}")
        if parent is not None:
            above = session.get(Department, parent)
            if above is None:
                raise InvalidData(f"{where} {code}: parent {parent!r} is not a known department")
            if LEVELS.index(above.level) > LEVELS.index(level):
                raise InvalidData(f"{where} {code}: a {level} department cannot sit under the {above.level} "
                                  f"department {parent}")  # fmt: skip
            if parent == code or code in self._ancestors(session, parent):
                raise InvalidData(f"{where} {code}: parent {parent} would make a cycle")
        if supervises is not None and supervises != code and session.get(Department, supervises) is None:
            raise InvalidData(f"{where} {code}: supervises {supervises!r} is not a known department")
        row = session.get(Department, code) or Department(code=code)
        row.name, row.level, row.parent, row.leader = name.strip(), level, parent, leader or None
        row.supervises = supervises or None
        session.add(row)
        session.flush()
        return DepartmentInfo(code, row.name, level, parent, row.leader)

    @staticmethod
    def _ancestors(session, code: str) -> list[str]:
        chain, seen = [], set()
        while code is not None and code not in seen:
            seen.add(code)
            chain.append(code)
            row = session.get(Department, code)
            code = row.parent if row else None
        return chain

    def load_departments(self, path: str | Path) -> list[DepartmentInfo]:
        """Upsert the [[department]] tables of a TOML file (processes/departments.toml), parents first."""
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidData(f"{path.name}: not valid TOML: {exc}") from None
        entries = doc.get("department")
        if not isinstance(entries, list) or not entries:
            raise InvalidData(f"{path.name}: no [[department]] tables")
        by_code: dict[str, dict] = {}
        for i, entry in enumerate(entries, start=1):
            code = entry.get("code")
            if code in by_code:
                raise InvalidData(f"{path.name}: department {code} appears twice")
            by_code[code if code is not None else f"#{i}"] = entry
        ordered, placed = [], set()

        def place(code, trail=()):
            if code in placed:
                return
            if code in trail:
                raise InvalidData(f"{path.name}: department {code}: parent chain makes a cycle")
            parent = by_code[code].get("parent")
            if parent in by_code:
                place(parent, (*trail, code))
            placed.add(code)
            ordered.append(by_code[code])

        for code in by_code:
            place(code)
        with self.engine.db.session() as session, session.begin():
            return [
                self._put_department(
                    session,
                    e.get("code"),
                    e.get("name"),
                    e.get("level"),
                    e.get("parent"),
                    e.get("leader"),
                    f"{path.name}: department",
                    e.get("supervises"),
                )  # fmt: skip
                for e in ordered
            ]

    def departments(self) -> list[DepartmentInfo]:
        with self.engine.db.session() as session:
            rows = session.scalars(select(Department).order_by(Department.code)).all()
            return [DepartmentInfo(r.code, r.name, r.level, r.parent, r.leader, r.supervises) for r in rows]

    def department(self, code: str) -> DepartmentInfo:
        with self.engine.db.session() as session:
            row = session.get(Department, code)
            if row is None:
                raise NotFound(f"department {code} does not exist")
            return DepartmentInfo(row.code, row.name, row.level, row.parent, row.leader, row.supervises)

    def supervision_scope(self, code: str) -> list[str]:
        """The departments a supervisor of `code` watches: the subtree of the department it supervises (a
        service centre's supervision office watches the whole county), else its own subtree."""
        info = self.department(code)
        return self.department_scope(info.supervises or code)

    def department_scope(self, code: str) -> list[str]:
        """The department and every department below it."""
        with self.engine.db.session() as session:
            if session.get(Department, code) is None:
                raise NotFound(f"department {code} does not exist")
            children: dict[str, list[str]] = {}
            for child, parent in session.execute(select(Department.code, Department.parent)):
                children.setdefault(parent, []).append(child)
        scope, todo = [], [code]
        while todo:
            current = todo.pop()
            if current not in scope:
                scope.append(current)
                todo.extend(sorted(children.get(current, []), reverse=True))
        return scope
