"""How the statistics roll-up (engine/statistics_rollup.py) is told what changed: the engine's configuration
attaches it to its own database (`attach`), whose sessions report every flush's writes of supervision rows, alerts
and alert actions, and whose connections carry each transaction's pending differences (savepoints included) to
the pipeline's roll-up phase (`apply_pending`) or, for writes made around the pipeline, to their commit.

Nothing here is registered on a model class or on SQLAlchemy's Engine class, and the store knows nothing of it.
"""

from __future__ import annotations

from sqlalchemy import event

from engine.statistics_rollup import FIELDS, PENDING, Pending, apply, follow, follow_action, follow_alert
from engine.store.supervision import AlertAction, SupervisedCase
from engine.store.time_limits import SupervisionAlert

ATTACHED = "_statistics_rollup_attached"  # on a Database: its sessions tell the roll-up already
_FOLLOWERS = {SupervisedCase: follow, SupervisionAlert: follow_alert, AlertAction: follow_action}


def attach(db) -> None:
    """Have the sessions of `db` (a store Database) tell the roll-up what each flush changed, and write it at commit.

    Declared once, by the engine's configuration, on its own database (not on the classes, not at import): a case
    step writes its share in the pipeline's roll-up phase (`apply_pending`); writes made around the pipeline (a
    repair, a rebuild, a test) are written by their own commit."""
    if db.__dict__.get(ATTACHED):
        return
    db.__dict__[ATTACHED] = True
    for factory in (db.sessions, db.write_sessions, db.lookup_sessions):
        event.listen(factory, "before_flush", _load_deleted)
        event.listen(factory, "after_flush", _follow_flush)
    for name in ("begin", "commit", "rollback", "savepoint", "release_savepoint", "rollback_savepoint"):
        event.listen(db.engine, name, globals()[f"on_{name}"])


def _load_deleted(session, _context, _instances) -> None:
    """Load what the roll-up takes off a supervision row about to be deleted, while it can still be read."""
    for row in session.deleted:
        if isinstance(row, SupervisedCase):
            for name in FIELDS:
                getattr(row, name)


def _follow_flush(session, _context) -> None:
    """Note what the flush just written changes in the roll-up (the session still shows its pre-flush state)."""
    connection = None
    for kind, rows in (("after_insert", session.new), ("after_update", session.dirty),
                       ("after_delete", session.deleted)):  # fmt: skip
        for row in rows:
            follower = _FOLLOWERS.get(type(row))
            if follower is not None:
                connection = connection or session.connection()
                follower(kind, connection, row)


def _info(connection) -> dict:
    """The connection's info ({} once the connection was lost: its pending changes went with its transaction)."""
    return {} if connection.invalidated or connection.closed else connection.info


def on_begin(connection) -> None:
    _info(connection).pop(PENDING, None)  # left by a transaction the pool ended without an event


def on_savepoint(connection, _name=None) -> None:
    _info(connection).setdefault(PENDING, [Pending()]).append(Pending())


def on_release_savepoint(connection, _name=None, _context=None) -> None:
    stack = _info(connection).get(PENDING)
    if stack and len(stack) > 1:
        stack[-2].merge(stack.pop())


def on_rollback_savepoint(connection, _name=None, _context=None) -> None:
    stack = _info(connection).get(PENDING)
    if stack and len(stack) > 1:
        stack.pop()


def on_rollback(connection) -> None:
    _info(connection).pop(PENDING, None)


def on_commit(connection) -> None:
    """Apply what is left of the transaction's roll-up changes, just before the database commits it."""
    stack = _info(connection).pop(PENDING, None)
    if not stack:
        return
    changes = stack[0]
    for inner in stack[1:]:  # savepoints still open at commit are released with it
        changes.merge(inner)
    if changes:
        apply(connection, changes)


def apply_pending(session) -> None:
    """The pipeline's roll-up phase: write the transaction's changes now, its last writes before the commit."""
    session.flush()
    on_commit(session.connection())
