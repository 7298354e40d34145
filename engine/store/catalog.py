"""Table of the service-item catalog (事项目录): the published items, as last loaded from processes/catalog.toml."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class CatalogItem(Base):
    """One service item. `definition` holds the whole validated item; the columns are what lists filter on.
    An item left out of a later catalog file is kept (cases refer to it) but no longer `active`."""

    __tablename__ = "catalog_items"
    __table_args__ = (Index("ix_catalog_items_department", "department", "active"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    department: Mapped[str] = mapped_column(String(64))
    process: Mapped[str] = mapped_column(String(200))
    handling: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    definition: Mapped[dict]
    source: Mapped[str] = mapped_column(String(500))
    loaded_at: Mapped[datetime]
