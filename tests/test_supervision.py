"""The supervision case list: filters, sort, paging, colour counts, CSV, scope; supervisor actions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import supervision_world as world
from sqlalchemy import select

from engine import supervision, supervision_actions
from engine.clock import LOCAL_TZ
from engine.errors import CaseNotRunning, Forbidden, InvalidData, NotFound
from engine.store import AuditEvent, StageClock
from engine.supervision import CaseFilter


@pytest.fixture
def county(engine):
    world.build(engine)
    return engine


def _scope(engine, username):
    return supervision.scope_of(engine, world.user(engine, username))


def _receipts(result):
    return sorted(r["receipt_no"] for r in result.rows)


def test_town_supervisor_never_sees_another_towns_cases(county, clock):
    a1 = world.start(county, "town-a", applicant="王一")
    a2 = world.start(county, "town-a-v1", applicant="王二", officer="clerk.a2")
    b1 = world.start(county, "town-b", applicant="李三", officer="clerk.b")

    town_a = _scope(county, "sup.a")
    result = supervision.list_cases(county, town_a, CaseFilter())
    assert _receipts(result) == sorted([a1.receipt_no, a2.receipt_no])
    assert result.total == 2
    assert sum(result.counts.values()) == 2
    # Asking for the other town's department by name gives nothing, not its cases.
    assert supervision.list_cases(county, town_a, CaseFilter(department="town-b")).total == 0
    assert sum(supervision.colour_counts(county, town_a, CaseFilter(department="town-b")).values()) == 0
    csv_text = "".join(supervision.export_csv(county, town_a, CaseFilter()))
    assert a1.receipt_no in csv_text and a2.receipt_no in csv_text and b1.receipt_no not in csv_text
    with pytest.raises(NotFound):
        supervision.get_case(county, town_a, b1.receipt_no)

    county_scope = _scope(county, "sup.county")
    assert supervision.list_cases(county, county_scope, CaseFilter()).total == 3
    assert supervision.list_cases(county, county_scope, CaseFilter(department="town-a")).total == 2


def test_service_centre_supervision_office_watches_the_whole_county(county):
    county.identity.add_department("qx-zwfw", "示范县政务服务中心", "county", "qx", supervises="qx")
    county.identity.add_user("sup.centre", world.PASSWORD, "qx-zwfw", ["supervisor"])
    a1 = world.start(county, "town-a", applicant="王一")
    b1 = world.start(county, "town-b", applicant="李三", officer="clerk.b")
    result = supervision.list_cases(county, _scope(county, "sup.centre"), CaseFilter())
    assert _receipts(result) == sorted([a1.receipt_no, b1.receipt_no])


def test_only_supervisors_leaders_and_admins_may_look(county):
    with pytest.raises(Forbidden, match="not a supervisor"):
        supervision.scope_of(county, world.user(county, "clerk.a"))
    assert supervision.scope_of(county, world.user(county, "leader.a")).departments == {"town-a", "town-a-v1"}


def test_filters_sort_and_paging(county, clock):
    first = world.start(county, "town-a", applicant="王一")
    clock.advance(days=1)
    second = world.start(county, "town-a", applicant="王二", item="SCJG-XK-002")
    clock.advance(days=1)
    third = world.start(county, "town-a", applicant="赵四", officer="clerk.a2")
    world.approve_all(county, clock, third.id, "clerk.a")
    world.complete(county, second.id, "accept", "clerk.a", {"outcome": "accept"})
    scope = _scope(county, "sup.a")

    def receipts(**kwargs):
        return _receipts(supervision.list_cases(county, scope, CaseFilter(**kwargs)))

    assert receipts(applicant="王") == sorted([first.receipt_no, second.receipt_no])
    assert receipts(receipt_no=first.receipt_no.split("-")[0].lower()) == sorted(
        [first.receipt_no, second.receipt_no, third.receipt_no]
    )
    assert receipts(receipt_no=first.receipt_no[:-1]) == [first.receipt_no]
    assert receipts(receipt_no=first.receipt_no) == [first.receipt_no]
    assert receipts(item="SCJG-XK-002") == [second.receipt_no]
    assert receipts(status="completed") == [third.receipt_no]
    assert receipts(stage="review") == [second.receipt_no]
    assert receipts(stage="accept") == [first.receipt_no]
    assert receipts(officer="clerk.a2") == [third.receipt_no]
    day_two = (datetime(2026, 9, 18, 9, tzinfo=LOCAL_TZ) + timedelta(days=1)).date()
    assert receipts(received_from=day_two, received_to=day_two) == [second.receipt_no]
    assert receipts(completed_from=date(2026, 9, 20)) == [third.receipt_no]
    assert receipts(completed_to=date(2026, 9, 19)) == []

    newest_first = supervision.list_cases(county, scope, CaseFilter(sort="created_at", descending=True, per_page=2))
    assert [r["receipt_no"] for r in newest_first.rows] == [third.receipt_no, second.receipt_no]
    assert newest_first.total == 3 and newest_first.pages == 2
    page_two = supervision.list_cases(county, scope, CaseFilter(sort="created_at", descending=True, per_page=2, page=2))
    assert [r["receipt_no"] for r in page_two.rows] == [first.receipt_no]
    oldest_first = supervision.list_cases(county, scope, CaseFilter(sort="receipt_no", descending=False))
    assert [r["receipt_no"] for r in oldest_first.rows] == sorted(
        [first.receipt_no, second.receipt_no, third.receipt_no]
    )


def test_bad_filter_values_are_refused_with_the_field_named(county):
    with pytest.raises(InvalidData, match="received_from"):
        CaseFilter.from_args({"received_from": "2026-13-01"})
    with pytest.raises(InvalidData, match="colour"):
        CaseFilter.from_args({"colour": "purple"})
    with pytest.raises(InvalidData, match="sort"):
        CaseFilter.from_args({"sort": "-password"})
    f = CaseFilter.from_args({"sort": "-due_at", "page": "2", "colour": "red", "applicant": " 王 "})
    assert (f.sort, f.descending, f.page, f.colour, f.applicant) == ("due_at", True, 2, "red", "王")


def _case_clock(engine, case_id, started, statutory="20wd", promised="10wd"):
    with engine.db.session() as session, session.begin():
        session.add(
            StageClock(
                case_id=case_id,
                stage="case",
                statutory=statutory,
                promised=promised,
                basis="行政许可法第42条",
                started_at=started,
            )
        )


def test_colours_follow_the_case_clock_without_a_step(county, clock):
    started = clock.now()
    late = world.start(county, "town-a")
    fresh = world.start(county, "town-a")
    _case_clock(county, late.id, started - timedelta(days=20))  # 10 wd promised: passed, 20 wd statutory: not yet
    _case_clock(county, fresh.id, started)
    for case in (late, fresh):  # any step refreshes the projection
        county.tasks.claim(world.task_of(county, case.id).id, "clerk.a")
    scope = _scope(county, "sup.a")
    assert supervision.colour_counts(county, scope) == {"green": 1, "yellow": 0, "red": 1, "red_plus": 0}
    red = supervision.list_cases(county, scope, CaseFilter(colour="red"))
    assert [r["receipt_no"] for r in red.rows] == [late.receipt_no]
    assert red.rows[0]["colour"] == "red"

    clock.advance(days=25)  # the late case passes its statutory limit, the fresh one (over 国庆) its promised one
    assert supervision.colour_counts(county, scope) == {"green": 0, "yellow": 0, "red": 1, "red_plus": 1}
    assert _receipts(supervision.list_cases(county, scope, CaseFilter(colour="red_plus"))) == [late.receipt_no]


def test_supervisor_actions_need_the_role_a_reason_and_the_scope_and_are_audited(county):
    case = world.start(county, "town-a")
    other = world.start(county, "town-b", officer="clerk.b")
    sup, clerk = world.user(county, "sup.a"), world.user(county, "clerk.a")
    with pytest.raises(Forbidden, match="supervisor role"):
        supervision_actions.suspend(county, clerk, case.id, "核查")
    with pytest.raises(InvalidData, match="reason"):
        supervision_actions.suspend(county, sup, case.id, "  ")
    with pytest.raises(NotFound):
        supervision_actions.suspend(county, sup, other.id, "越权")

    assert supervision_actions.suspend(county, sup, case.receipt_no, "群众投诉，暂停核查").status == "suspended"
    with pytest.raises(CaseNotRunning):
        supervision_actions.suspend(county, sup, case.id, "再次暂停")
    assert supervision_actions.resume(county, sup, case.id, "核查完毕").status == "running"

    task = world.task_of(county, case.id)
    county.tasks.claim(task.id, "clerk.a")
    with pytest.raises(Forbidden, match="outside"):
        supervision_actions.reassign(county, sup, task.id, "clerk.b", "跨镇指派")
    moved = supervision_actions.reassign(county, sup, task.id, "clerk.a2", "clerk.a 请假，超期风险")
    assert moved.assignee == "clerk.a2"
    assert supervision_actions.terminate(county, sup, case.id, "申请人撤回").status == "terminated"

    with county.db.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)).all()
    mine = [(e.action, e.actor, e.payload.get("reason")) for e in events if e.actor == "sup.a"]
    assert mine == [
        ("case_suspended", "sup.a", "群众投诉，暂停核查"),
        ("case_resumed", "sup.a", "核查完毕"),
        ("task_reassigned", "sup.a", "clerk.a 请假，超期风险"),
        ("case_terminated", "sup.a", "申请人撤回"),
    ]
    reassigned = next(e for e in events if e.action == "task_reassigned")
    assert (reassigned.payload["from"], reassigned.payload["to"]) == ("clerk.a", "clerk.a2")
    assert all(r.ok for r in county.history.verify(case.id))
    row = supervision.get_case(county, _scope(county, "sup.a"), case.id)
    assert row.status == "terminated" and not row.is_open


def test_retry_of_a_case_in_error_needs_a_reason(county):
    county.repository.deploy_file(world.FIXTURES / "failing_script.bpmn", "designer")
    case = county.runtime.start("failing_script", {"department": "town-a", "units": 0}, started_by="clerk.a")
    task = world.task_of(county, case.id)
    with pytest.raises(Exception, match="compute_fee"):
        county.tasks.complete(task.id, "clerk.a", {})
    sup = world.user(county, "sup.a")
    assert supervision.get_case(county, _scope(county, "sup.a"), case.id).status == "error"
    with pytest.raises(InvalidData):
        supervision_actions.retry(county, sup, case.id, "")
    # The failed step was rolled back: the case goes back to running at the task before the script.
    assert supervision_actions.retry(county, sup, case.id, "已修正数据，重试").status == "running"
    retried = county.history.trail(case.id)[-1]
    assert (retried.action, retried.actor, retried.payload["reason"]) == ("case_retried", "sup.a", "已修正数据，重试")
    assert retried.payload["previous_error"]["element"] == "compute_fee"
    assert supervision.get_case(county, _scope(county, "sup.a"), case.id).status == "running"
