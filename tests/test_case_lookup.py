"""Finding a case by id or receipt number: one look-up, one answer for a missing case, on every path (runtime,
history, supervision)."""

from __future__ import annotations

import pytest
import supervision_world as world

from engine import supervision
from engine.errors import NotFound


@pytest.fixture
def county(engine):
    world.build(engine)
    return engine


def test_a_case_is_found_by_id_or_receipt_number_by_every_service(county):
    case = world.start(county, "town-a")
    scope = supervision.scope_of(county, world.user(county, "sup.a"))
    for ref in (case.id, case.receipt_no):
        assert county.runtime.get(ref).id == case.id
        assert county.runtime.describe(ref)["id"] == case.id
        assert [r.case_id for r in county.history.verify(ref)] == [case.id]
        assert supervision.get_case(county, scope, ref).case_id == case.id


def test_a_missing_case_gives_the_same_not_found_everywhere(county):
    other = world.start(county, "town-b", officer="clerk.b")
    scope = supervision.scope_of(county, world.user(county, "sup.a"))
    lookups = {
        "runtime.get": lambda ref: county.runtime.get(ref),
        "runtime.describe": lambda ref: county.runtime.describe(ref),
        "history.verify": lambda ref: county.history.verify(ref),
        "history.trail": lambda ref: county.history.trail(ref),
        "supervision.get_case": lambda ref: supervision.get_case(county, scope, ref),
    }
    for name, look_up in lookups.items():
        with pytest.raises(NotFound) as missing:
            look_up("QX-NOWHERE-1")
        assert str(missing.value) == "case QX-NOWHERE-1 does not exist", name
    with pytest.raises(NotFound) as outside:  # another town's case reads as missing, in the same words
        supervision.get_case(county, scope, other.receipt_no)
    assert str(outside.value) == f"case {other.receipt_no} does not exist"
