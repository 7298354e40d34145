"""A task is coloured on the instants of the clock it is due by (due, warning, statutory due, as its row keeps
them): the inbox's SQL colour, filter and counts equal `colour.colour_of` for a few hundred random task rows."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import insert

from engine.colour import colour_of
from engine.deadlines import stage_status
from engine.store import HumanTask, TaskCandidate
from tests.test_colour_agreement import CAL, POLICIES, SEED, _clock, _nows, _scaffold, moments, offered  # noqa: F401

GROUP = "reviewer@qx-scjg"


def _instants(rng, now):
    """Random instants of a task row: a stage clock's three, a dueDate alone, none, or unordered ones."""
    status = stage_status(CAL, *_clock(rng), now)
    kind = rng.random()
    if kind < 0.55 or status.promised_due is None:
        return status.promised_due, status.warn_at, status.statutory_due
    if kind < 0.75:
        return status.promised_due, None, None
    if kind < 0.85:
        return None, None, None

    def near():
        return None if rng.random() < 0.25 else status.promised_due + timedelta(hours=rng.randrange(-400, 400))

    return status.promised_due, near(), near()


def test_inbox_sql_and_python_give_the_same_colour_for_random_task_clocks(engine, clock, offered):  # noqa: F811
    rng = random.Random(SEED + 11)
    rows = [_instants(rng, clock.now()) for _ in range(300)]
    with engine.db.engine.begin() as conn:
        ids = _scaffold(conn, len(rows), clock.now())
        conn.execute(insert(HumanTask), [{
            "id": f"t-{cid}", "case_id": cid, "bpmn_id": "review", "candidate_groups": [GROUP],
            "candidate_users": [], "state": "open", "created_at": clock.now(), "due_at": due, "warn_at": warn,
            "statutory_due_at": statutory, "offered_to": GROUP,
        } for cid, (due, warn, statutory) in zip(ids, rows, strict=True)])  # fmt: skip
        conn.execute(insert(TaskCandidate), [{"task_id": f"t-{cid}", "kind": "group", "name": GROUP} for cid in ids])
    by_task = dict(zip((f"t-{cid}" for cid in ids), rows, strict=True))
    checked = Counter()
    for policy, now, at in moments(engine, clock, rng):
        expected = {t: colour_of(at, *instants, untimed="none") for t, instants in by_task.items()}
        tally = Counter(expected.values())
        seen = {}
        for page in (1, 2, 3):
            listed, total, counts = engine.tasks.inbox(offered, page=page, per_page=100)
            seen.update((r.task_id, r.colour) for r in listed)
        assert total == len(by_task) and counts == {c: tally[c] for c in counts}, (policy, now)
        assert seen == expected, (policy, now)
        for name in counts:
            listed, matching, _ = engine.tasks.inbox(offered, {"colour": name}, per_page=100)
            assert matching == tally[name] and {r.colour for r in listed} <= {name}, (name, now)
        checked.update(expected.values())
    assert all(checked[c] > 20 for c in ("green", "yellow", "red", "red_plus", "none")), checked
