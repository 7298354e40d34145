"""Inbox filters a user saved by name (item, stage, colour, department, text) to reuse them in one click."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class SavedFilter(Base):
    __tablename__ = "inbox_saved_filters"
    __table_args__ = (UniqueConstraint("username", "name", name="uq_inbox_filter_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    # The filter as query parameters, e.g. {"item": "...", "colour": "red", "q": "..."}.
    query: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime]
