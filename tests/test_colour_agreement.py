"""One colour rule (engine.colour): the Python answer and the SQL of the supervision list, its counts and the inbox
agree for a few hundred random clocks and stops; the task page and the inbox show a case's task alike; the clock a
task is due by is the same for the step that writes its due date and the pages that show it; the working-day
calendar of a fresh install is the statutory one everywhere (National Day 2026)."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import insert

from engine import calendar, colour, deadlines, supervision
from engine.clock import LOCAL_TZ
from engine.colour import ColourPolicy, Thresholds, colour_of, thresholds
from engine.deadlines import ClockFacts, Interval, Limit, stage_status
from engine.store import CalendarDay, Case, HumanTask, ProcessVersion, TaskCandidate
from engine.store.supervision import SupervisedCase
from engine.supervision import CaseFilter, Scope
from engine.supervision_index import colour_at
from tests.conftest import ROOT
from tests.procedures_kit import (
    complete,
    open_tasks,
    procedures_fixture,  # noqa: F401 - the `procedures` fixture
)
from tests.web_helpers import PASSWORD, accept_case, login, open_task, start_case, text
from webui import create_app

pytest_plugins = ["tests.web_fixtures"]

SEED = 20261001
POLICIES = (ColourPolicy(), ColourPolicy(warn_workdays=0, warn_ratio=0.5, red_plus_workdays=1),
            ColourPolicy(warn_workdays=4, warn_ratio=1.0, red_plus_workdays=3))  # fmt: skip
LIMITS = ((None, "3wd"), ("1wd", "5wd"), ("6wd", "14wd"), ("10wd", "20wd"), ("20wd", "20wd"), ("15d", "60d"),
          ("30d", None), ("10wd", "45wd"))  # fmt: skip
CAL = calendar.WorkdayCalendar.from_holidays(calendar.package_years())


def _instant(rng, first: date, days: int) -> datetime:
    day = first + timedelta(days=rng.randrange(days))
    return datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=LOCAL_TZ)


def _clock(rng) -> tuple[ClockFacts, list[Interval]]:
    """A random stage clock over the autumn holidays: limits, maybe finished, maybe an extension, 0-2 stops."""
    started = _instant(rng, date(2026, 8, 20), 80)
    promised, statutory = rng.choice(LIMITS)
    ended = started + timedelta(days=rng.randrange(1, 50)) if rng.random() < 0.15 else None
    extension = Limit(rng.randrange(1, 10), "wd") if rng.random() < 0.1 else None
    stops = []
    for _ in range(rng.choice((0, 0, 1, 2))):
        begin = started + timedelta(days=rng.randrange(0, 30), hours=rng.randrange(24))
        stops.append(Interval(begin, begin + timedelta(days=rng.randrange(1, 20)) if rng.random() < 0.7 else None))
    return ClockFacts("case", started, ended, Limit.optional(statutory), Limit.optional(promised),
                      extension=extension), stops  # fmt: skip


def _nows(rng) -> list[datetime]:
    return sorted(_instant(rng, date(2026, 9, 1), 110) for _ in range(4))


def moments(engine, clock, rng) -> Iterator[tuple[ColourPolicy, datetime, Thresholds]]:
    """Each colour policy at a few random instants: the engine set to it and the clock to the instant."""
    for policy in POLICIES:
        engine.colour_policy = policy
        for now in _nows(rng):
            clock.set(now)
            yield policy, now, thresholds(CAL, now, policy)


def _scaffold(conn, n: int, now: datetime) -> list[str]:
    """A process version and n bare case rows (what the supervision and task rows refer to)."""
    conn.execute(insert(ProcessVersion), [{
        "id": 1, "key": "p", "version": 1, "name": None, "filename": "p.bpmn", "source": "", "sha256": "0",
        "dialect": "camunda", "spec": "{}", "elements": {}, "deployed_at": now, "deployed_by": "t",
    }])  # fmt: skip
    ids = [f"c{i:04d}" for i in range(n)]
    conn.execute(insert(Case), [{
        "id": cid, "receipt_no": f"R-{cid}", "process_version_id": 1, "status": "running", "state": "{}",
        "serializer_version": "t", "lock_version": 1, "data": {}, "started_by": "t", "trail_seq": 0,
        "trail_hash": "0" * 64, "created_at": now, "updated_at": now,
    } for cid in ids])  # fmt: skip
    return ids


def test_python_and_sql_give_the_same_colour_for_random_clocks_and_stops(engine, clock):
    rng = random.Random(SEED)
    worlds = [_clock(rng) for _ in range(300)]
    seen = [clock_facts.started_at + timedelta(days=rng.randrange(0, 40)) for clock_facts, _ in worlds]
    rows = []
    for (facts, stops), at in zip(worlds, seen, strict=True):  # the projection as a step at `at` wrote it
        status = stage_status(CAL, facts, stops, at)
        stopped = status.stopped and rng.random() < 0.8
        rows.append({"warn_at": status.warn_at, "due_at": status.promised_due, "statutory_due_at": status.statutory_due,
                     "clock_stopped": stopped, "stopped_colour": rng.choice((*colour.COLOURS, None)) if stopped else None,
                     "is_open": rng.random() < 0.9})  # fmt: skip
    with engine.db.engine.begin() as conn:
        ids = _scaffold(conn, len(rows), clock.now())
        conn.execute(insert(SupervisedCase), [{
            "case_id": cid, "receipt_no": f"R-{cid}", "process_key": "p", "status": "running", "created_at": now,
            "updated_at": now, "clock_stop_days": 0, "extensions": 0, **row,
        } for cid, row, now in zip(ids, rows, seen, strict=True)])  # fmt: skip
    scope = Scope("admin", None)
    with engine.db.session() as session:
        stored = session.query(SupervisedCase).order_by(SupervisedCase.case_id).all()
    checked = Counter()
    for policy, now, at in moments(engine, clock, rng):
        expected = {r.receipt_no: colour_at(r, at) for r in stored}
        counts = Counter(c for c in expected.values() if c is not None)
        assert supervision.colour_counts(engine, scope) == {c: counts[c] for c in colour.COLOURS}, (policy, now)
        for name in colour.COLOURS:
            listed = supervision.list_cases(engine, scope, CaseFilter(colour=name, per_page=200))
            assert listed.total == counts[name] and {r["colour"] for r in listed.rows} <= {name}, (name, now)
            assert {r["receipt_no"] for r in listed.rows} <= {k for k, c in expected.items() if c == name}
        checked.update(expected.values())
    assert all(checked[c] > 20 for c in colour.COLOURS), checked  # every colour was met often


def test_stage_status_colours_by_the_rule_on_its_own_instants():
    rng = random.Random(SEED + 1)
    for _ in range(300):
        facts, stops = _clock(rng)
        policy = rng.choice(POLICIES)
        now = facts.started_at + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(24))
        status = stage_status(CAL, facts, stops, now, policy)
        at = min(facts.ended_at, now) if facts.ended_at else now
        by_rule = colour_of(thresholds(CAL, at, policy), status.promised_due, status.warn_at, status.statutory_due)
        assert status.colour == by_rule
        if status.promised_due is not None and status.colour in ("green", "yellow"):
            # yellow exactly when at most N working days are left or the share of the promised limit is used; the
            # days left count only for a limit longer than N working days (else it is yellow from its start)
            start, due_day = facts.started_at.astimezone(LOCAL_TZ).date(), status.promised_due.date()
            longer = CAL.workdays_between(start, due_day) > policy.warn_workdays
            warned = (status.days_left <= policy.warn_workdays and longer) or status.used >= policy.warn_ratio
            assert (status.colour == "yellow") == warned, (facts, stops, now, status)


@pytest.fixture
def offered(engine):
    """A reviewer of market supervision, to whose group the inserted task rows are offered."""
    engine.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine.identity.add_department("qx-scjg", "示范县市场监督管理局", "county")
    engine.identity.add_user("reviewer.scjg", "correct-horse-9", "qx-scjg", ["reviewer"])
    return engine.identity.actor("reviewer.scjg")


def test_inbox_sql_and_python_give_the_same_colour_for_random_due_instants(engine, clock, offered):
    rng = random.Random(SEED + 2)
    dues = [stage_status(CAL, *_clock(rng), clock.now()).promised_due for _ in range(240)]
    dues = [d if rng.random() < 0.9 else None for d in dues]
    with engine.db.engine.begin() as conn:
        ids = _scaffold(conn, len(dues), clock.now())
        conn.execute(insert(HumanTask), [{
            "id": f"t-{cid}", "case_id": cid, "bpmn_id": "review", "candidate_groups": ["reviewer@qx-scjg"],
            "candidate_users": [], "state": "open", "created_at": clock.now(), "due_at": due,
            "offered_to": "reviewer@qx-scjg",
        } for cid, due in zip(ids, dues, strict=True)])  # fmt: skip
        conn.execute(insert(TaskCandidate), [{"task_id": f"t-{cid}", "kind": "group", "name": "reviewer@qx-scjg"}
                                             for cid in ids])  # fmt: skip
    by_task = dict(zip((f"t-{cid}" for cid in ids), dues, strict=True))
    for policy, now, at in moments(engine, clock, rng):
        expected = {t: colour_of(at, due, untimed="none") for t, due in by_task.items()}
        listed, total, counts = engine.tasks.inbox(offered, per_page=100)
        tally = Counter(expected.values())
        assert counts == {c: tally[c] for c in counts}, (policy, now)
        assert {r.task_id: r.colour for r in listed} == {r.task_id: expected[r.task_id] for r in listed}
        for name in counts:
            rows, matching, _ = engine.tasks.inbox(offered, {"colour": name}, per_page=100)
            assert matching == counts[name] and {r.colour for r in rows} <= {name}


# -- one case, one colour -------------------------------------------------------------------------------------
_BADGE = r"<span class=\"badge badge-[a-z_]+\">([^<]*)</span>"


def _header_badge(html: str, receipt_no: str) -> str:
    """The time-limit badge beside the receipt number in a task page's header."""
    match = re.search(re.escape(receipt_no) + r"</span>\s*" + _BADGE, html)
    assert match, f"no badge beside {receipt_no}"
    return " ".join(match.group(1).split())


def _inbox_badge(html: str, task_id: str) -> str:
    """The time-limit badge of the inbox line of a task."""
    match = re.search(r"<td>" + _BADGE + r"</td>\s*<td><a href=\"/tasks/" + re.escape(task_id), html)
    assert match, f"no inbox line for task {task_id}"
    return " ".join(match.group(1).split())


def test_task_header_and_inbox_show_one_colour_and_overdue_days(site, signed_in, clock):
    case = start_case(site)
    accept_case(site, case)  # Fri 09-18: review (promised 6 wd: 09-28) and the case (promised 10 wd: 10-09) run
    clock.set(datetime(2026, 10, 10, 10, 0, tzinfo=LOCAL_TZ))  # Sat 10-10 is a working day (调休)
    task = open_task(site, case, "review")
    client = signed_in("wang.rev")
    header = _header_badge(text(client.get(f"/tasks/{task.id}")), case.receipt_no)
    listed = _inbox_badge(text(client.get("/inbox")), task.id)
    assert header == listed == "超期 · 超 5 个工作日"
    # the API and the engine's task badge say the same
    [row] = [r for r in site.tasks.inbox(site.identity.actor("wang.rev"))[0] if r.task_id == task.id]
    shown = site.deadlines.badge(task.due_at)
    assert (row.colour, row.days_left) == (shown["colour"], shown["days_left"]) == ("red", -5)


WORDS = {"green": "正常", "yellow": "预警", "red": "超期", "red_plus": "超期督办"}


def test_one_task_shows_one_colour_in_the_inbox_the_task_page_the_api_and_the_cli(procedures, clock, tmp_path,
                                                                                   database_url):
    engine = procedures
    engine.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    case = engine.catalog.apply("SCJG-XK-001", {"name": "示范县好味餐饮有限公司", "kind": "organisation"},
                                {"materials": [m.name for m in engine.catalog.get("SCJG-XK-001").materials]},
                                actor="window.li")  # fmt: skip
    complete(engine, case.id, "accept", {"accept_outcome": "accept"}, "clerk.li")
    [task] = open_tasks(engine, case.id)  # review, due by its stage clock: due, warn and statutory instants
    assert task.bpmn_id == "review" and task.warn_at is not None and task.statutory_due_at is not None
    [group] = task.candidate_groups
    engine.identity.add_user("rev.sun", PASSWORD, group.split("@")[1], ("reviewer",), "孙审查")
    app = create_app(engine, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                              "INSTANCE_DIR": str(tmp_path)})  # fmt: skip
    client = app.test_client()
    assert login(client, "rev.sun").status_code == 302
    actor = engine.identity.actor("rev.sun")
    moments = {"green": task.created_at + timedelta(minutes=5), "yellow": task.warn_at + timedelta(minutes=1),
               "red": task.due_at + timedelta(minutes=1), "red_plus": task.statutory_due_at + timedelta(minutes=1)}
    for expected, moment in moments.items():
        clock.set(moment)
        header = _header_badge(text(client.get(f"/tasks/{task.id}")), case.receipt_no)
        listed = _inbox_badge(text(client.get("/inbox")), task.id)
        token = app.test_client().post("/api/v1/token", json={"username": "rev.sun", "password": PASSWORD})
        bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}  # a token lives hours, the walk weeks
        api = app.test_client().get(f"/api/v1/tasks/{task.id}", headers=bearer).get_json()
        [row] = [r for r in engine.tasks.inbox(actor)[0] if r.task_id == task.id]
        [filtered], _, counts = engine.tasks.inbox(actor, {"colour": expected})
        assert header == listed and header.split(" · ")[0] == WORDS[expected], (expected, header, listed)
        assert (api["colour"], api["days_left"]) == (row.colour, row.days_left) and row.colour == expected
        assert filtered.task_id == task.id and counts[expected] == 1, expected
    # the CLI, which runs on the real clock, says what the engine's badge says at the same instant
    listed = subprocess.run([sys.executable, "-m", "engine.cli", "--db", database_url, "tasks", "--case", case.id,
                             "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    [shown] = [t for t in json.loads(listed.stdout) if t["id"] == task.id]
    badge = engine.deadlines.task_badge(task, at=datetime.now(UTC))
    assert (shown["colour"], shown["days_left"]) == (badge["colour"], badge["days_left"])
    assert (shown["warn_at"], shown["statutory_due_at"]) == (task.warn_at.isoformat(),
                                                             task.statutory_due_at.isoformat())  # fmt: skip


def test_the_step_and_the_pages_agree_on_the_clock_a_task_is_due_by(procedures, clock):
    engine = procedures
    case = engine.catalog.apply("SCJG-XK-001", {"name": "示范县好味餐饮有限公司", "kind": "organisation"},
                                {"materials": [m.name for m in engine.catalog.get("SCJG-XK-001").materials]},
                                actor="window.li")  # fmt: skip
    clock.advance(hours=2)
    complete(engine, case.id, "accept", {"accept_outcome": "accept"}, "clerk.li")
    clock.advance(days=3)
    [review] = open_tasks(engine, case.id)
    with engine.db.session() as session:
        clocks, stops = deadlines.stored_clocks(session, [case.id])[case.id]
    own = deadlines.task_clock(clocks, "review")
    assert own.stage == "review"
    assert review.due_at == stage_status(CAL, own, stops, clock.now()).promised_due
    # a task of an element without a stage is due by the whole-case clock
    assert deadlines.task_clock(clocks, "clock_stop_notice").stage == "case"
    # the row keeps the clock's other instants too, and the badge the pages show is that clock's colour
    status = stage_status(CAL, own, stops, clock.now())
    assert (review.warn_at, review.statutory_due_at) == (status.warn_at, status.statutory_due)
    assert engine.deadlines.task_badge(review)["colour"] == status.colour


# -- one calendar ---------------------------------------------------------------------------------------------
def test_fresh_install_inbox_badge_over_national_day_equals_the_deadline_count(site, clock):
    with site.db.session() as session:
        assert session.query(CalendarDay).count() == 0  # nothing seeded: a fresh install
    clock.set(datetime(2026, 9, 29, 9, 0, tzinfo=LOCAL_TZ))
    case = start_case(site)
    accept_case(site, case)  # Tue 09-29: review (promised 6 wd) and the case (10 wd) run over National Day
    clock.set(datetime(2026, 9, 30, 9, 0, tzinfo=LOCAL_TZ))
    limits = site.deadlines.case_limits(case.id)
    # 09-30, then 10-08, 10-09, Sat 10-10 (调休), 10-12, 10-13: National Day 10-01 … 10-07 not counted
    assert limits.stage("review").promised_due.date() == date(2026, 10, 13)
    assert limits.case.promised_due.date() == date(2026, 10, 19)
    [row] = site.tasks.inbox(site.identity.actor("wang.rev"))[0]
    assert row.due_at == limits.stage("review").promised_due
    assert row.days_left == limits.stage("review").days_left == 5
    site.calendar.set_day(date(2026, 10, 9), False, "本中心10月9日闭馆")  # a local decision: seen at once
    assert site.tasks.inbox(site.identity.actor("wang.rev"))[0][0].days_left == 4
