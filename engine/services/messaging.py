"""Messaging service: messages and signals between cases (BPMN 2.0 10.5.4; Camunda's message correlation is the
model). Every message or signal — sent by a person or a system (`govflow message`, `POST /api/v1/messages`) or
thrown by a case — is a row of the outbox (`event_messages`) before it is delivered, and stays there with what
became of it:

- a message goes to every running case waiting for its name with its correlation key; when none waits, it starts
  a case of each process whose start event is that message; when neither, it is kept as `undeliverable`;
- a signal goes to every running case waiting for it and starts a case of every process with that signal start;
  with no receiver it is kept as `undeliverable` too (visible, never silently dropped).

Each receiving case gets it in a step (one transaction) of its own; a case that refuses (it moved on meanwhile,
a script failed) is noted in the message's outcome and does not stop the others.
"""

from __future__ import annotations

import threading

from sqlalchemy import select, update

from engine import correlation, policy, workflow_events
from engine.case_json import check_json_object
from engine.errors import GovflowError, InvalidData
from engine.store import Case
from engine.store.messaging import EventMessage, EventSubscription

KINDS = ("message", "signal")
_MAX_NAME = 200
_ROUNDS = 50  # deliveries that throw again are delivered in the same call, up to this many rounds


class MessagingService:
    def __init__(self, engine):
        self.engine = engine
        self._starts: dict[int, list[tuple[str, str]]] = {}  # process version id → its message/signal starts
        self._delivering = threading.local()

    # -- sending
    def send(self, who, kind: str, name: str, *, key: str | None = None, data: dict | None = None) -> dict:
        """Send a message (with its correlation key) or a signal into the platform as `who`, deliver it, and
        say what became of it (the outbox row as `describe` gives it)."""
        subject = policy.subject(self.engine, who)
        policy.require(subject, "correlate")
        kind, name, key, data = _checked(kind, name, key, data)
        with self.engine.db.write_session() as session, session.begin():
            row = EventMessage(kind=kind, name=name, correlation_key=key, payload=data, sent_by=subject.username,
                               sent_at=self.engine.now(), status="pending", outcome=[])  # fmt: skip
            session.add(row)
            session.flush()
            message_id = row.id
        self.deliver_pending()
        return self.describe(message_id)

    def send_to_case(self, who, case_ref: str, kind: str, name: str, data: dict | None = None):
        """Deliver a message or signal to one named case (by id or receipt number), as `who`; no outbox row:
        the answer (the case, or why it refused) is immediate."""
        subject = policy.subject(self.engine, who)
        policy.require(subject, "correlate")
        kind, name, _key, data = _checked(kind, name, None, data)
        case_id = self.engine.runtime.get(case_ref).id
        return self.engine.runtime.deliver(case_id, kind, name, data, actor=subject.username)

    def describe(self, message_id: int) -> dict:
        with self.engine.db.lookup_session() as session:
            row = session.get(EventMessage, message_id)
            return _json(row)

    def list(self, status: str | None = None, limit: int = 50) -> list[dict]:
        """The newest messages and signals (of one status: pending, delivered, undeliverable), newest first."""
        query = select(EventMessage).order_by(EventMessage.id.desc()).limit(max(1, min(int(limit), 500)))
        if status is not None:
            query = query.where(EventMessage.status == status)
        with self.engine.db.lookup_session() as session:
            return [_json(row) for row in session.scalars(query)]

    def fill_waits(self) -> int:
        """Record the message and signal waits of running cases kept before they were recorded
        (`engine.correlation.backfill`); `govflow init` runs it. Returns how many cases got them."""
        return correlation.backfill(self.engine)

    # -- delivering
    def deliver_pending(self) -> int:
        """Deliver every pending message (those just sent, and those cases threw), oldest first; returns how
        many were settled. A call made while this thread delivers returns at once: the outer loop takes them."""
        if getattr(self._delivering, "active", False):
            return 0
        self._delivering.active = True
        settled = 0
        try:
            for _ in range(_ROUNDS):
                with self.engine.db.lookup_session() as session:
                    pending = list(session.scalars(
                        select(EventMessage.id).where(EventMessage.status == "pending").order_by(EventMessage.id)
                    ))  # fmt: skip
                if not pending:
                    break
                settled += sum(1 for message_id in pending if self._deliver(message_id))
        finally:
            self._delivering.active = False
        return settled

    def _deliver(self, message_id: int) -> bool:
        """Deliver one message, if this worker wins its claim; False when another worker has it."""
        with self.engine.db.write_session() as session, session.begin():
            claimed = session.execute(
                update(EventMessage).where(EventMessage.id == message_id, EventMessage.status == "pending")
                .values(status="delivering")
            ).rowcount  # fmt: skip
            row = session.get(EventMessage, message_id) if claimed else None
            if row is None:
                return False
            kind, name, key, payload, actor = row.kind, row.name, row.correlation_key, row.payload, row.sent_by
            waiting = self._waiting(session, kind, name, key)
        outcome = [self._to_case(kind, name, case_id, payload, actor) for case_id in waiting]
        if kind == "signal" or not waiting:
            outcome += self._start_cases(kind, name, payload, actor)
        reached = any(o["outcome"] != "refused" for o in outcome)
        with self.engine.db.write_session() as session, session.begin():
            row = session.get(EventMessage, message_id)
            row.status, row.outcome, row.settled_at = (
                ("delivered" if reached else "undeliverable"),
                outcome,
                self.engine.now(),
            )
        return True

    def _waiting(self, session, kind: str, name: str, key: str | None) -> list[str]:
        query = (
            select(EventSubscription.case_id).distinct().join(Case, Case.id == EventSubscription.case_id)
            .where(EventSubscription.kind == kind, EventSubscription.name == name, Case.status == "running")
            .order_by(EventSubscription.case_id)
        )  # fmt: skip
        if kind == "message":
            if key is None:
                return []  # a message without a key only starts cases
            query = query.where(EventSubscription.correlation_key == key)
        return list(session.scalars(query))

    def _to_case(self, kind: str, name: str, case_id: str, payload: dict, actor: str) -> dict:
        runtime = self.engine.runtime
        try:
            case = runtime.deliver(case_id, kind, name, payload, actor=actor)
        except GovflowError as exc:
            return {"case_id": case_id, "receipt_no": _receipt(self.engine, case_id), "outcome": "refused",
                    "reason": str(exc)}  # fmt: skip
        return {"case_id": case.id, "receipt_no": case.receipt_no, "outcome": "delivered"}

    def _start_cases(self, kind: str, name: str, payload: dict, actor: str) -> list[dict]:
        started = []
        for pv in self.engine.repository.list():
            if (kind, name) not in self._start_events(pv.id):
                continue
            try:
                case = self.engine.runtime.start(pv.key, payload, started_by=actor, version=pv.version,
                                                 event=(kind, name))  # fmt: skip
            except GovflowError as exc:
                started.append({"process": pv.key, "outcome": "refused", "reason": str(exc)})
                continue
            started.append({"case_id": case.id, "receipt_no": case.receipt_no, "process": pv.key,
                            "outcome": "started"})  # fmt: skip
        return started

    def _start_events(self, version_id: int) -> list[tuple[str, str]]:
        if version_id not in self._starts:
            with self.engine.db.lookup_session() as session:
                bundle = self.engine.bundle(session, version_id)
            self._starts[version_id] = workflow_events.start_events(bundle)
        return self._starts[version_id]


def _checked(kind: str, name: str, key: str | None, data: dict | None) -> tuple[str, str, str | None, dict]:
    if kind not in KINDS:
        raise InvalidData(f"'{kind}' is neither a message nor a signal", [("kind", "not message or signal")])
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > _MAX_NAME:
        raise InvalidData(f"the {kind} needs a name of 1 to {_MAX_NAME} characters", [("name", "required")])
    if kind == "signal" and key is not None:
        raise InvalidData("a signal is broadcast: it has no correlation key", [("key", "not for a signal")])
    if key is not None:
        key = str(key).strip() if isinstance(key, str | int) and not isinstance(key, bool) else ""
        if not key or len(key) > _MAX_NAME:
            raise InvalidData(f"the correlation key must be 1 to {_MAX_NAME} characters", [("key", "invalid")])
    return kind, name, key, check_json_object(data, f"{kind} data")


def _receipt(engine, case_id: str) -> str | None:
    with engine.db.lookup_session() as session:
        case = session.get(Case, case_id)
        return case.receipt_no if case is not None else None


def _json(row: EventMessage) -> dict:
    return {
        "id": row.id, "kind": row.kind, "name": row.name, "key": row.correlation_key, "data": row.payload,
        "sent_by": row.sent_by, "source_case_id": row.source_case_id, "source_element": row.source_element,
        "sent_at": row.sent_at.isoformat(), "status": row.status, "outcome": row.outcome,
        "settled_at": row.settled_at.isoformat() if row.settled_at else None,
    }  # fmt: skip
