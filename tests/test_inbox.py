"""The inbox query over the inbox projection: who sees a task offered to one group, to several or by name (once
each, never another department), the case facts the rows carry and follow, the text filter, the sort merged over
the parts of the query page by page, and the migration's back-fill of open tasks."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import insert, select

from engine import inbox_projection
from engine.clock import LOCAL_TZ
from engine.colour import ColourPolicy
from engine.services.inbox import SORTS
from engine.store import Case, Database, HumanTask, ProcessVersion, TaskCandidate, upgrade
from tests.people import HOUSING, MARKET, seed_people

REVIEWERS = f"reviewer@{MARKET}"


@pytest.fixture
def people(engine, deploy):
    seed_people(engine)
    deploy("inbox_offers.bpmn")
    deploy("inbox_due.bpmn")
    return engine.identity


def _start(engine, *, named="clerk.scjg", due="2026-09-25T17:00:00+08:00", applicant="鑫源餐饮管理有限公司"):
    data = {"department": MARKET, "named": named, "due": due, "item_code": "MKT-001", "item_name": "食品经营许可",
            "applicant": {"name": applicant}}  # fmt: skip
    case = engine.runtime.start("inbox_offers", data)
    return case, {t.bpmn_id: t for t in engine.tasks.query(case_id=case.id)}


def _seen(engine, people, user: str, **filters) -> list[str]:
    rows, total, counts = engine.tasks.inbox(people.actor(user), filters, per_page=100)
    assert total == len(rows) == sum(counts.values()) == len({r.task_id for r in rows})
    return sorted(r.bpmn_id for r in rows)


def test_each_candidate_sees_a_task_once_however_it_is_offered(engine, people):
    case, tasks = _start(engine, named="reviewer.scjg")
    with engine.db.session() as session:
        offered = dict(session.execute(select(HumanTask.bpmn_id, HumanTask.offered_to)).all())
    assert offered == {"joint": None, "named": None, "solo": REVIEWERS}  # only `solo` is read from the index
    mine = {"text": case.receipt_no}
    # offered to their group and to them by name: listed and counted once
    assert _seen(engine, people, "reviewer.scjg", **mine) == ["joint", "named", "solo"]
    assert _seen(engine, people, "reviewer2.scjg", **mine) == ["joint", "named", "solo"]
    assert _seen(engine, people, "approver.scjg", **mine) == ["joint"]
    assert _seen(engine, people, "clerk.scjg", **mine) == []
    for outsider in ("reviewer.zjj", "approver.zjj", "clerk.zjj"):
        assert _seen(engine, people, outsider) == []
        assert _seen(engine, people, outsider, department=MARKET) == []
    assert _seen(engine, people, "reviewer.scjg", department="qx") == ["joint", "named", "solo"]
    assert _seen(engine, people, "reviewer.scjg", department=HOUSING) == []
    assert _seen(engine, people, "reviewer.scjg", assignee="unassigned", stage="joint") == ["joint"]

    # by name only: the named user sees it, under a department filter too; claimed, it leaves the others' lists
    other, others = _start(engine, named="clerk.scjg")
    assert _seen(engine, people, "clerk.scjg") == ["named"]
    assert _seen(engine, people, "clerk.scjg", department=MARKET) == ["named"]
    engine.tasks.claim(others["named"].id, actor=people.actor("clerk.scjg"))
    assert _seen(engine, people, "clerk.scjg", assignee="me") == ["named"]
    assert _seen(engine, people, "reviewer.scjg", text=other.receipt_no) == ["joint", "solo"]

    # a backup acts with the absent colleague's groups (AB岗): the joint tasks, on the approver's behalf
    people.set_absent("approver.scjg", "clerk.scjg")
    rows, total, _ = engine.tasks.inbox(people.actor("clerk.scjg"), {"stage": "joint"})
    assert total == 2 and {r.on_behalf_of for r in rows} == {"approver.scjg"}
    assert tasks["joint"].id in {r.task_id for r in rows}


def test_rows_carry_the_case_facts_and_follow_a_correction(engine, people):
    case, tasks = _start(engine, applicant="甲公司")
    reviewer = people.actor("reviewer.scjg")
    rows, _, _ = engine.tasks.inbox(reviewer)
    assert {(r.receipt_no, r.item_code, r.item_name, r.department, r.applicant_name, r.case_status) for r in rows} == {
        (case.receipt_no, "MKT-001", "食品经营许可", MARKET, "甲公司", "running")
    }
    engine.tasks.complete(tasks["solo"].id, actor=reviewer, data={"applicant": {"name": "乙公司"}})
    rows, total, _ = engine.tasks.inbox(reviewer, {"text": "乙公司"})
    assert sorted(r.bpmn_id for r in rows) == ["joint", "named"] and {r.applicant_name for r in rows} == {"乙公司"}
    assert engine.tasks.inbox(reviewer, {"text": "甲公司"})[1] == 0
    assert engine.tasks.inbox(reviewer, {"item": "MKT-001"})[1] == 2
    assert engine.tasks.inbox(reviewer, {"item": "MKT-002"})[1] == 0


def test_an_absurdly_long_applicant_name_does_not_stop_the_case(engine, people):
    """The search text sits in a PostgreSQL index entry (at most 2,704 bytes): it is cut short, not refused."""
    name = "𠀀" * 150 + "有限公司" * 20  # 4-byte characters first: ~1,000 bytes of name alone
    case, tasks = _start(engine, applicant=name)
    reviewer = people.actor("reviewer.scjg")
    long_item = "𠀁" * 300  # item name and applicant both at their 200 characters: 466 characters in all
    engine.tasks.complete(tasks["solo"].id, actor=reviewer, data={"applicant": {"name": name}, "item_name": long_item})
    with engine.db.session() as s:
        texts = s.scalars(select(HumanTask.search_text).where(HumanTask.case_id == case.id,
                                                              HumanTask.state == "open")).all()  # fmt: skip
    assert texts and all(len(t) == inbox_projection.SEARCH_TEXT_LENGTH for t in texts)
    assert engine.tasks.inbox(reviewer, {"text": "𠀀" * 10})[1] == len(texts)


def test_text_filter_ignores_letter_case_and_takes_wildcards_literally(engine, people):
    a, _ = _start(engine, applicant="Acme 100% Foods_Ltd")
    b, _ = _start(engine, applicant="ACME 1000 FoodsXLtd")
    reviewer = people.actor("reviewer.scjg")

    def found(text: str) -> set[str]:
        return {r.case_id for r in engine.tasks.inbox(reviewer, {"text": text, "stage": "solo"}, per_page=100)[0]}

    assert found("acme") == found("  aCmE ") == {a.id, b.id}
    assert found("100%") == found("foods_ltd") == {a.id}
    assert found(a.receipt_no.lower()) == {a.id}
    assert found("经营许可") == {a.id, b.id}  # the item name
    assert found("许可\nacme") == found("nobody") == set()  # a text never matches across two fields


def _reference(sort: str):
    def due(row):
        return row.due_at.timestamp() if row.due_at else 0.0

    return {
        "due": lambda r: (r.due_at is None, due(r), r.created_at, r.task_id),
        "-due": lambda r: (r.due_at is None, -due(r), r.created_at, r.task_id),
        "created": lambda r: (r.created_at, r.task_id),
        "-created": lambda r: (-r.created_at.timestamp(), r.task_id),
    }[sort]


def test_pages_of_the_merged_parts_follow_each_sort_and_colour(engine, people, clock):
    engine.colour_policy = ColourPolicy(red_plus_workdays=3)  # the staging where red+ comes 3 working days after red
    dues = ["2026-09-10T17:00:00+08:00", "2026-09-21T17:00:00+08:00", "2026-09-18T08:00:00+08:00",
            "2026-10-30T17:00:00+08:00", "2026-09-14T12:00:00+08:00", "2026-09-22T09:00:00+08:00"]  # fmt: skip
    solos = []
    for i, due in enumerate(dues):
        clock.advance(minutes=1)
        solos.append(_start(engine, due=due, named="reviewer.scjg" if i % 2 else "clerk.scjg")[1]["solo"])
    for _ in range(2):  # decisions offered to the approvers alone: a second group's part of the query
        clock.advance(minutes=1)
        case = engine.runtime.start("inbox_due", {"department": MARKET, "due": "2026-09-30T17:00:00+08:00"})
        review = engine.tasks.query(case_id=case.id)[0]
        engine.tasks.complete(review.id, "reviewer.scjg", {"conclusion": "pass"}, [REVIEWERS])
    engine.tasks.claim(solos[1].id, actor=people.actor("reviewer.scjg"))  # their own part of the query
    engine.tasks.claim(solos[3].id, actor=people.actor("reviewer2.scjg"))  # gone from their list
    people.set_absent("approver.scjg", "reviewer.scjg")  # the reviewer acts with the approvers' group too
    reviewer = people.actor("reviewer.scjg")
    everything, total, counts = engine.tasks.inbox(reviewer, per_page=100)
    assert total == 19 and solos[3].id not in {r.task_id for r in everything}
    assert sum(r.on_behalf_of == "approver.scjg" for r in everything) == 2
    assert Counter(r.colour for r in everything) == +Counter(counts)
    # Sun 09-20 is a working day (调休): the task due Tue 09-22 has 3 working days left, so it is still green.
    assert counts == {"green": 1, "yellow": 1, "red": 1, "red_plus": 2, "none": 14}
    for sort in SORTS:
        for colours in (None, "red,red_plus", "yellow", "green", "none", "yellow,none"):
            filters = {"colour": colours} if colours else {}
            listed, total, _ = engine.tasks.inbox(reviewer, filters, sort, 1, 100)
            assert [r.task_id for r in listed] == [r.task_id for r in sorted(listed, key=_reference(sort))]
            wanted = colours.split(",") if colours else list(counts)
            assert total == len(listed) == sum(counts[c] for c in wanted)
            assert all(r.colour in wanted for r in listed)
            paged = [r for page in range(1, 9) for r in engine.tasks.inbox(reviewer, filters, sort, page, 3)[0]]
            assert [r.task_id for r in paged] == [r.task_id for r in listed], (sort, colours)
    for filters in ({"text": "鑫源"}, {"stage": "solo", "colour": "red,red_plus,yellow"}, {"assignee": "me"}):
        listed, total, _ = engine.tasks.inbox(reviewer, filters, "due", 1, 100)
        paged = [r for page in range(1, 9) for r in engine.tasks.inbox(reviewer, filters, "due", page, 3)[0]]
        assert [r.task_id for r in paged] == [r.task_id for r in listed] and len(listed) == total > 0, filters
    assert engine.tasks.inbox(reviewer, per_page=0) == ([], 19, counts)


def test_migration_fills_the_projection_of_the_open_tasks(database_url):
    db = Database(database_url)
    try:
        upgrade(db, "0007")
        now = datetime(2026, 9, 18, 9, 0, tzinfo=LOCAL_TZ)
        cases = [
            ("c1", "MKT-20260918-00001", {"item_code": "MKT-001", "item_name": "食品经营许可", "department": MARKET,
                                          "applicant": {"name": "Acme 食品"}}),
            ("c2", "MKT-20260918-00002", {"department": MARKET}),
        ]  # fmt: skip
        tasks = [  # id, case, state, groups, users
            ("t1", "c1", "open", [REVIEWERS], []),
            ("t2", "c1", "open", [REVIEWERS, f"approver@{MARKET}"], []),
            ("t3", "c2", "open", [REVIEWERS], ["clerk.scjg"]),
            ("t4", "c2", "completed", [REVIEWERS], []),
        ]
        with db.engine.begin() as conn:
            conn.execute(insert(ProcessVersion), [{
                "id": 1, "key": "p", "version": 1, "name": None, "filename": "p.bpmn", "source": "", "sha256": "0",
                "dialect": "camunda", "spec": "{}", "elements": {}, "deployed_at": now, "deployed_by": "t",
            }])  # fmt: skip
            conn.execute(insert(Case), [{
                "id": cid, "receipt_no": receipt, "process_version_id": 1, "status": "running", "state": "{}",
                "serializer_version": "t", "lock_version": 1, "data": data, "started_by": "t", "trail_seq": 0,
                "trail_hash": "0" * 64, "created_at": now, "updated_at": now,
            } for cid, receipt, data in cases])  # fmt: skip
            conn.execute(insert(HumanTask), [{
                "id": tid, "case_id": cid, "bpmn_id": "review", "candidate_groups": groups, "candidate_users": users,
                "state": state, "created_at": now,
            } for tid, cid, state, groups, users in tasks])  # fmt: skip
            conn.execute(insert(TaskCandidate), [
                {"task_id": tid, "kind": kind, "name": name}
                for tid, _, _, groups, users in tasks for kind, names in (("group", groups), ("user", users))
                for name in names
            ])  # fmt: skip
        upgrade(db)
        columns = ("offered_to", *inbox_projection.FACTS)
        with db.engine.connect() as conn:
            got = {r[0]: dict(zip(columns, r[1:], strict=True)) for r in conn.execute(
                select(HumanTask.id, *(getattr(HumanTask, c) for c in columns)))}  # fmt: skip
        receipts, data = {c[0]: c[1] for c in cases}, {c[0]: c[2] for c in cases}
        for tid, cid, state, groups, users in tasks:
            expected = inbox_projection.task_columns(receipts[cid], data[cid], groups, users)
            assert got[tid] == (expected if state == "open" else dict.fromkeys(columns)), tid
        assert got["t1"]["offered_to"] == REVIEWERS and got["t1"]["search_text"] == (
            "mkt-20260918-00001\n食品经营许可\nacme 食品"
        )
    finally:
        db.dispose()
