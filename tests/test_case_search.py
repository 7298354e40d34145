"""办件查询: a member of staff finds the cases they may see by receipt number, applicant or item. What the search
finds is what the permission policy's `see_case` allows by the case's own facts (its department, who registered
it); a case seen only because one of its tasks is offered to the person is in their inbox instead."""

from __future__ import annotations

import pytest

from engine import policy
from engine.errors import NotFound
from engine.store import Case
from engine.supervision import CaseFilter
from tests.web_helpers import accept_case, start_case

pytest_plugins = ["tests.web_fixtures"]


@pytest.fixture
def world(site):
    """Two market cases (one accepted, with its review task offered to the market reviewers) and a health case."""
    food = start_case(site, applicant_name="示范县鑫源餐饮管理有限公司")
    accept_case(site, food)
    change = start_case(site, item="MKT-002", applicant_name="示范县好味小吃店", materials=("变更申请书",))
    health = site.catalog.apply("HLT-001", {"kind": "organisation", "name": "示范县悦来宾馆", "phone": "13900000001"},
                                {"materials": ["卫生许可申请表"]}, actor="he.clerk")  # fmt: skip
    return site, {"food": food, "change": change, "health": health}


def _found(engine, username: str, **filters) -> set[str]:
    scope = engine.supervision.reach(engine.identity.actor(username))
    return {r["receipt_no"] for r in engine.supervision.cases(scope, CaseFilter(**filters, per_page=100)).rows}


def test_a_clerk_finds_the_cases_of_their_department_by_receipt_applicant_or_item(world):
    engine, cases = world
    food, change, health = cases["food"], cases["change"], cases["health"]
    assert _found(engine, "li.clerk") == {food.receipt_no, change.receipt_no}
    assert _found(engine, "li.clerk", text=food.receipt_no.lower()[:-1]) >= {food.receipt_no}
    assert _found(engine, "li.clerk", text="好味") == {change.receipt_no}  # a part of the applicant's name
    assert _found(engine, "li.clerk", text="变更") == {change.receipt_no}  # a part of the item's name
    assert _found(engine, "li.clerk", text="悦来") == set()  # the health department's case is not theirs
    assert _found(engine, "he.clerk", text="悦来") == {health.receipt_no}
    assert _found(engine, "li.clerk", text="50%_") == set()  # LIKE wildcards are searched as text
    scope = engine.supervision.reach(engine.identity.actor("li.clerk"))
    with pytest.raises(NotFound):
        engine.supervision.case(scope, health.receipt_no)
    assert engine.supervision.case(scope, food.receipt_no).receipt_no == food.receipt_no


def test_what_the_search_finds_is_what_see_case_allows_by_the_case_s_facts(world):
    engine, _ = world
    with engine.db.session() as session:
        rows = session.query(Case).all()
        targets = {c.receipt_no: policy.case_target(c, engine.tasks.query(case_id=c.id, limit=100)) for c in rows}
    for username in [u.username for u in engine.identity.users()]:
        who = policy.subject(engine, engine.identity.actor(username))
        allowed = {r for r, t in targets.items() if policy.decide(who, "see_case", t)}
        found = _found(engine, username)
        assert found <= allowed, username
        for receipt in allowed - found:  # seen only through a task offered to them: that case is in their inbox
            bare = policy.Target(department=targets[receipt].department, case=receipt,
                                 started_by=targets[receipt].started_by)  # fmt: skip
            assert not policy.decide(who, "see_case", bare), (username, receipt)
            assert any(policy.decide(who, "see_task", policy.Target(task=t)) for t in targets[receipt].tasks)
