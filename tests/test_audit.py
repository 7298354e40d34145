"""The audit trail is a hash chain per case: an edited, deleted or re-linked row is detected."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from engine.store import AuditEvent


def _case_with_trail(engine, deploy):
    deploy("approval_shape.bpmn")
    case = engine.runtime.start("approval_shape", {"department": "market"})
    for data in ({"outcome": "accept"}, {"opinion": "ok"}, {"decision": "approve"}):
        task = engine.tasks.query(case_id=case.id)[0]
        engine.tasks.complete(task.id, "li.wei", data)
    return case


def test_chain_verifies_when_untouched(engine, deploy):
    case = _case_with_trail(engine, deploy)
    [report] = engine.history.verify(case.id)
    # Start, three completions and the audited rule alert (decided the minute it was accepted: implausibly fast).
    assert report.ok and report.events == 5


def test_edited_payload_is_detected(engine, deploy):
    case = _case_with_trail(engine, deploy)
    with engine.db.session() as s, s.begin():
        s.execute(
            update(AuditEvent)
            .where(AuditEvent.case_id == case.id, AuditEvent.seq == 3)
            .values(payload={"data": {"decision": "approve"}, "completed": [], "active": []})
        )
    [report] = engine.history.verify(case.id)
    assert not report.ok and report.first_bad_seq == 3 and "hash" in report.reason


def test_edited_actor_and_deleted_row_are_detected(engine, deploy):
    case = _case_with_trail(engine, deploy)
    other = _case_with_trail(engine, deploy)
    with engine.db.session() as s, s.begin():
        s.execute(
            update(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.seq == 2).values(actor="someone.else")
        )
        s.execute(delete(AuditEvent).where(AuditEvent.case_id == other.id, AuditEvent.seq == 2))
    reports = {r.case_id: r for r in engine.history.verify()}
    assert reports[case.id].first_bad_seq == 2 and not reports[case.id].ok
    assert reports[other.id].first_bad_seq == 2 and "missing" in reports[other.id].reason


def test_rehashed_row_breaks_the_next_link(engine, deploy):
    """Someone who edits a row and recomputes its hash still breaks the link of the following event."""
    from engine.audit import _digest

    case = _case_with_trail(engine, deploy)
    with engine.db.session() as s, s.begin():
        ev = s.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.seq == 2)).one()
        ev.actor = "forger"
        ev.hash = _digest(
            ev.prev_hash, ev.case_id, ev.seq, ev.at, ev.actor, ev.action, ev.task_id, ev.bpmn_id, ev.payload
        )
    [report] = engine.history.verify(case.id)
    assert not report.ok and report.first_bad_seq == 3 and "link" in report.reason
