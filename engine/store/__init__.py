"""Persistence: SQLAlchemy models, the database handle and schema migrations."""

from engine.store.catalog import CatalogItem  # noqa: F401
from engine.store.db import Database, database_url
from engine.store.identity import ApiToken, AttachmentRecord, Department, Membership  # noqa: F401
from engine.store.inbox_filters import SavedFilter  # noqa: F401
from engine.store.messaging import EventMessage, EventSubscription  # noqa: F401
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
from engine.store.supervision import AccountabilityRecord, AlertAction, SupervisedCase  # noqa: F401
from engine.store.time_limits import (  # noqa: F401
    ClockStop,
    Notification,
    StageClock,
    SupervisionAlert,
    SupervisionLetter,
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
