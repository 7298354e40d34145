"""Messages and signals between cases, inside one case's step: the phase that writes which message and signal
events the case now waits at (event_subscriptions) and what it threw (event_messages, the outbox). Both are
written in the step's transaction, so a step rolled back leaves neither; what was thrown is delivered after the
commit (engine.services.messaging), each receiving case in a transaction of its own.

A catch event waits for the correlation key its `correlationKey` property gives on the case data, or, without
one, for the case's receipt number; a signal has no key (engine.workflow_events).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select

from engine import workflow
from engine.store import Case
from engine.store.messaging import EventMessage, EventSubscription
from engine.workflow_events import RECEIPT

OUTBOX_KEY = "messages_thrown"  # in the session's info: this transaction wrote messages to deliver after it

_WAITS = select(
    EventSubscription.id, EventSubscription.kind, EventSubscription.name, EventSubscription.correlation_key,
    EventSubscription.element_id,
).where(EventSubscription.case_id == bindparam("case_id"))  # fmt: skip


def before_save(ctx) -> None:
    """The messages phase: the case's waits replace those it had; what the step threw goes to the outbox."""
    case, flow, session = ctx.case, ctx.flow, ctx.session
    wanted = set()
    if case.status == "running" and not flow.completed:
        for wait in flow.waits():
            key = case.receipt_no if wait.key is RECEIPT else wait.key
            wanted.add((wait.kind, wait.name, key, wait.element_id))
    had = {tuple(row[1:]): row[0] for row in session.execute(_WAITS, {"case_id": case.id})}
    gone = [row_id for wait, row_id in had.items() if wait not in wanted]
    if gone:
        session.execute(delete(EventSubscription).where(EventSubscription.id.in_(gone)))
    new = [
        {"case_id": case.id, "kind": k, "name": n, "correlation_key": key, "element_id": e}
        for k, n, key, e in sorted(wanted - had.keys(), key=str)
    ]
    if new:
        session.execute(insert(EventSubscription), new)
    thrown = flow.outgoing()
    if thrown:
        session.execute(insert(EventMessage), [
            {"kind": t.kind, "name": t.name, "correlation_key": t.key, "payload": t.payload, "sent_by": ctx.actor,
             "source_case_id": case.id, "source_element": t.element_id, "sent_at": ctx.now, "status": "pending",
             "outcome": [], "settled_at": None}
            for t in thrown
        ])  # fmt: skip
        session.info[OUTBOX_KEY] = True


def backfill(engine) -> int:
    """Give the running cases kept before their waits were recorded (or whose rows were lost) their waits, read
    from their saved state; `govflow init` runs it after an upgrade. Returns how many cases got rows."""
    filled = 0
    with engine.db.write_session() as session, session.begin():
        known = select(EventSubscription.case_id).distinct()
        cases = session.execute(
            select(Case.id, Case.receipt_no, Case.process_version_id, Case.state, Case.serializer_version)
            .where(Case.status == "running", Case.id.not_in(known))
        ).all()  # fmt: skip
        for case_id, receipt_no, version_id, state, serializer in cases:
            bundle = engine.bundle(session, version_id)
            flow = workflow.CaseWorkflow.load(bundle, state, serializer, engine.script_engine())
            try:
                found = flow.waits()
            except workflow.ScriptFailure:
                continue  # its next step names the failing expression
            rows = [{"case_id": case_id, "kind": w.kind, "name": w.name, "element_id": w.element_id,
                     "correlation_key": receipt_no if w.key is RECEIPT else w.key} for w in found]  # fmt: skip
            if rows:
                session.execute(insert(EventSubscription), rows)
                filled += 1
    return filled
