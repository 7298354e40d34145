"""Saved inbox filters: a user's named sets of inbox query parameters (a page preference, no case data)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from engine.errors import Conflict, InvalidData
from engine.store.inbox_filters import SavedFilter

MAX_FILTERS = 20


@dataclass(frozen=True)
class Filter:
    id: int
    name: str
    query: dict[str, str]


class SavedFilterService:
    """List, save (or replace by name) and delete one user's saved inbox filters; one transaction each."""

    def __init__(self, engine):
        self.engine = engine

    def list_for(self, username: str) -> list[Filter]:
        """The user's filters by name."""
        query = select(SavedFilter).where(SavedFilter.username == username).order_by(SavedFilter.name)
        with self.engine.db.lookup_session() as session:
            return [Filter(r.id, r.name, dict(r.query or {})) for r in session.scalars(query)]

    def save(self, username: str, name: str, query: dict[str, str]) -> Filter:
        """Save the filter called `name`, replacing the one of that name; at most MAX_FILTERS per user."""
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise InvalidData("a saved filter needs a name of 1-100 characters", [("name", "1-100 characters")])
        mine = SavedFilter.username == username
        with self.engine.db.write_session() as session, session.begin():
            row = session.scalars(select(SavedFilter).where(mine, SavedFilter.name == name)).first()
            if row is None:
                if session.scalar(select(func.count()).where(mine)) >= MAX_FILTERS:
                    raise Conflict(f"at most {MAX_FILTERS} saved filters per user; delete one first")
                row = SavedFilter(username=username, name=name, query=query, created_at=self.engine.now())
                session.add(row)
            else:
                row.query = query
            session.flush()
            return Filter(row.id, row.name, dict(query))

    def delete(self, username: str, filter_id: int) -> None:
        """Delete one of the user's filters (another user's filter is left alone)."""
        with self.engine.db.write_session() as session, session.begin():
            session.execute(delete(SavedFilter).where(SavedFilter.id == filter_id, SavedFilter.username == username))
