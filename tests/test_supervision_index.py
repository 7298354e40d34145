"""The supervision row's current step: where a case stands, as the case list shows and filters it — the innermost
active activities, never the whole-case watch sub-process that runs beside them (processes/*.bpmn `case_watch`)."""

from __future__ import annotations

from datetime import timedelta

from engine.store.supervision import SupervisedCase
from engine.supervision import CaseFilter, Scope
from engine.supervision_index import current_steps
from tests.procedures_kit import apply, complete, procedures_fixture  # noqa: F401 - the `procedures` fixture

EVERYONE = Scope("test", None)


def _row(engine, case_id) -> SupervisedCase:
    with engine.db.session() as session:
        return session.get(SupervisedCase, case_id)


def _receipts(engine, **kwargs) -> list[str]:
    return sorted(r["receipt_no"] for r in engine.supervision.cases(EVERYONE, CaseFilter(**kwargs)).rows)


def test_a_case_stands_at_its_real_steps_not_at_the_whole_case_watch_nor_the_sub_process_around_a_task(
    procedures, clock
):
    engine = procedures
    approval = apply(engine, "SCJG-XK-001")
    complete(engine, approval.id, "accept", {"accept_outcome": "accept"}, "clerk.li")
    joint = apply(engine, "ZRZY-XK-001")
    clock.advance(timedelta(hours=2))
    complete(engine, joint.id, "accept", {"accept_outcome": "accept"}, "clerk.zhou")
    active = _row(engine, approval.id).active.split(",")
    assert "case_watch" in active and "review" in active  # the watch runs beside the review …
    assert _row(engine, approval.id).stage == "review"  # … and is no step the case stands at
    row = _row(engine, joint.id)
    assert {"case_watch", "co_review_round", "co_review_task"} <= set(row.active.split(","))
    assert row.stage == "co_review_task"
    # The stage filter takes the name a person reads: a stage's (engine.stages) or an activity's in the diagram.
    assert _receipts(engine, stage="审查") == [approval.receipt_no] == _receipts(engine, stage="review")
    assert _receipts(engine, stage="协办部门审查") == [joint.receipt_no]
    assert _receipts(engine, stage="办理时限监控（受理至决定）") == []  # the watch is no step to filter by
    assert _receipts(engine, stage="无此环节") == []
    # In another language the page resolves the name it shows through its catalog (here a made-up one).
    english = {"审查": "Examination"}
    keys = engine.supervision.stage_keys("examination", lambda name: english.get(name, name))
    assert keys == ["review"] and _receipts(engine, stage="Examination", stage_keys=keys) == [approval.receipt_no]
    assert _receipts(engine, stage="Examination") == []


def test_current_steps_of_element_facts_without_containment_keep_every_active_activity():
    """A version deployed before the facts said what lies within what: every active activity counts, as before."""
    old = {"case_watch": {"tag": "subProcess"}, "review": {"tag": "userTask"}, "case_watch_until": {"tag": "x"}}
    assert current_steps(old, ["case_watch", "case_watch_until", "review"]) == ["case_watch", "review"]
    new = {eid: {**facts, "within": None} for eid, facts in old.items()}
    new["case_watch_until"]["within"] = "case_watch"
    assert current_steps(new, ["case_watch", "case_watch_until", "review"]) == ["review"]
