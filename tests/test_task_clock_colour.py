"""A task is coloured on the instants of the clock it is due by (due, warning, statutory due, as its row keeps
them): the inbox's SQL colour, filter and counts equal `colour.colour_of` for a few hundred random task rows."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from datetime import timedelta

from alembic import command
from sqlalchemy import insert

from engine.colour import colour_of
from engine.deadlines import stage_status
from engine.store import HumanTask, TaskCandidate, upgrade
from engine.store.migrate import alembic_config
from tests.conftest import ROOT
from tests.procedures_kit import apply, complete, open_tasks, procedures_fixture  # noqa: F401 - the `procedures` fixture
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


def _in_review(engine):
    """An approval case accepted at the window: (the case, its review task, due by the review stage's clock)."""
    case = apply(engine, "SCJG-XK-001")
    complete(engine, case.id, "accept", {"accept_outcome": "accept"}, "clerk.li")
    [review] = open_tasks(engine, case.id)
    return case, review


def test_init_gives_tasks_kept_before_the_clock_instants_those_of_their_clock(procedures, database_url):
    engine = procedures
    case, review = _in_review(engine)
    kept = (review.due_at, review.warn_at, review.statutory_due_at)
    assert None not in kept
    # the schema as it was before the rows kept the instants, and upgraded again: the rows have a due instant only
    command.downgrade(alembic_config(engine.db), "0008")
    upgrade(engine.db)
    with engine.db.session() as session:
        row = session.get(HumanTask, review.id)
        assert (row.due_at, row.warn_at, row.statutory_due_at) == (kept[0], None, None)
        # a task due by a dueDate of its own (another instant than its stage clock's) is not the clock's
        other = HumanTask(id="own-due", case_id=case.id, bpmn_id="review", candidate_groups=[], candidate_users=[],
                          state="open", created_at=review.created_at, due_at=kept[0] + timedelta(days=1))
        session.add(other)
        session.commit()
    done = subprocess.run([sys.executable, "-m", "engine.cli", "--db", database_url, "init"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    # (the same init may also record the case's message waits: the downgrade took their table along)
    assert "; 1 open tasks given their clock's instants" in done.stdout, done.stdout
    with engine.db.session() as session:
        row, own = session.get(HumanTask, review.id), session.get(HumanTask, "own-due")
        assert (row.due_at, row.warn_at, row.statutory_due_at) == kept
        assert (own.warn_at, own.statutory_due_at) == (None, None)
    assert engine.deadlines.fill_task_instants() == 0  # nothing left to fill: a second init changes nothing


def test_a_task_keeps_the_colour_its_clock_had_when_it_stopped_until_it_runs_again(procedures, clock):
    engine = procedures
    case, review = _in_review(engine)
    engine.identity.add_user("rev.sun", "correct-horse", review.candidate_groups[0].split("@")[1], ("reviewer",),
                             "孙审查")  # fmt: skip
    actor = engine.identity.actor("rev.sun")
    clock.set(review.warn_at + timedelta(hours=1))  # the review stage is yellow, then its clock stops
    engine.deadlines.stop_clock(case.id, "expert_review", actor="system")
    stopped_at = clock.now()
    before = engine.deadlines.task_badge(open_tasks(engine, case.id)[0])
    assert (before["colour"], before["stopped"]) == ("yellow", True)
    clock.advance(days=60)  # far past every due instant the task had when the clock stopped
    [row] = open_tasks(engine, case.id)
    stage = engine.deadlines.stage(case.id, "review")
    assert stage.stopped and stage.colour == "yellow"  # the stage's clock stands still: its due date moves
    [listed], total, counts = engine.tasks.inbox(actor)
    badge = engine.deadlines.task_badge(row)
    assert (listed.colour, listed.stopped, listed.days_left) == ("yellow", True, before["days_left"])
    assert (badge["colour"], badge["days_left"]) == ("yellow", before["days_left"])
    assert counts["yellow"] == 1 and engine.tasks.inbox(actor, {"colour": "yellow"})[1] == 1
    assert engine.tasks.inbox(actor, {"colour": "red_plus"})[1] == 0
    assert row.stopped_at == stopped_at and row.stopped_colour == "yellow"
    # the clock runs again: the task is due by the moved due date and coloured live
    engine.deadlines.resume_clock(case.id, actor="system")
    [row] = open_tasks(engine, case.id)
    live = engine.deadlines.stage(case.id, "review")
    assert (row.stopped_at, row.stopped_colour) == (None, None) and row.due_at == live.promised_due
    assert row.due_at > review.due_at + timedelta(days=40)
    assert engine.deadlines.task_badge(row)["colour"] == live.colour
    [listed], _, _ = engine.tasks.inbox(actor)
    assert (listed.colour, listed.stopped) == (live.colour, False)
