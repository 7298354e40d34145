"""A user's saved inbox filters: a name and the query parameters it stands for (a page preference, no case data)."""

from __future__ import annotations

from sqlalchemy import delete, select

from engine.errors import Conflict, InvalidData
from engine.store.inbox_filters import SavedFilter

FILTER_KEYS = ("item", "stage", "colour", "department", "q", "sort")
MAX_FILTERS = 20


def clean_query(values) -> dict[str, str]:
    """The filter parameters of a request, empty ones dropped."""
    return {k: str(values.get(k)).strip()[:200] for k in FILTER_KEYS if str(values.get(k) or "").strip()}


def list_filters(engine, username: str) -> list[SavedFilter]:
    with engine.db.session() as session:
        rows = session.scalars(select(SavedFilter).where(SavedFilter.username == username).order_by(SavedFilter.name))
        return list(rows)


def save_filter(engine, username: str, name: str, query: dict[str, str]) -> SavedFilter:
    """Save (or replace) the filter called `name`."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidData("a saved filter needs a name of 1-100 characters", [("name", "1-100 characters")])
    with engine.db.session() as session, session.begin():
        row = session.scalars(
            select(SavedFilter).where(SavedFilter.username == username, SavedFilter.name == name)
        ).first()
        if row is None:
            count = len(session.scalars(select(SavedFilter.id).where(SavedFilter.username == username)).all())
            if count >= MAX_FILTERS:
                raise Conflict(f"at most {MAX_FILTERS} saved filters per user; delete one first")
            row = SavedFilter(username=username, name=name, query=query, created_at=engine.now())
            session.add(row)
        else:
            row.query = query
        return row


def delete_filter(engine, username: str, filter_id: int) -> None:
    with engine.db.session() as session, session.begin():
        session.execute(delete(SavedFilter).where(SavedFilter.id == filter_id, SavedFilter.username == username))
