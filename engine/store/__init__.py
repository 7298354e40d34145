"""Persistence: SQLAlchemy models, the database handle and schema migrations."""

from engine.store.db import Database, database_url
from engine.store.migrate import upgrade
from engine.store.models import (
    AuditEvent,
    Base,
    CalendarDay,
    Case,
    Counter,
    HumanTask,
    ProcessVersion,
    TaskCandidate,
)

__all__ = [
    "AuditEvent",
    "Base",
    "CalendarDay",
    "Case",
    "Counter",
    "Database",
    "HumanTask",
    "ProcessVersion",
    "TaskCandidate",
    "database_url",
    "upgrade",
]
