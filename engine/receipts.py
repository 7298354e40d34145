"""Receipt numbers (办件编号): PREFIX-YYYYMMDD-NNNNN, a sequence per prefix and local day."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.clock import LOCAL_TZ
from engine.store import Counter


def next_value(session: Session, name: str) -> int:
    """Increment a named counter inside the caller's transaction (an upsert, safe under concurrency)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Counter)
        .values(name=name, value=1)
        .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
        .returning(Counter.value)
    )
    return session.execute(stmt).scalar_one()


def next_receipt_no(session: Session, prefix: str, now: datetime) -> str:
    day = now.astimezone(LOCAL_TZ).strftime("%Y%m%d")
    seq = next_value(session, f"receipt:{prefix}:{day}")
    return f"{prefix}-{day}-{seq:05d}"
