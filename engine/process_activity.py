"""Where cases pile up: per activity of a process version, the open and overdue tasks of the viewer's scope and
the average working days the activity took (from task opened to task completed)."""

from __future__ import annotations

from sqlalchemy import case, func, select

from engine.store import Case, HumanTask, ProcessVersion
from engine.store.supervision import SupervisedCase
from engine.supervision import Scope
from engine.supervision_index import working_calendar

SAMPLE = 5000  # completed tasks averaged per process version (the most recent ones)


def activity_counts(engine, scope: Scope, key: str, version: int | None = None) -> dict:
    """{key, version, name, activities: {bpmn_id: {name, active, overdue, completed, avg_working_days}}}."""
    pv = engine.repository.get(key, version)
    now = engine.now()
    in_scope = [Case.process_version_id == pv.id]
    if scope.departments is not None:
        in_scope.append(SupervisedCase.department.in_(sorted(scope.departments)))
    joined = (
        select(HumanTask.bpmn_id)
        .join(Case, Case.id == HumanTask.case_id)
        .join(SupervisedCase, SupervisedCase.case_id == Case.id)
        .where(*in_scope)
    )
    open_query = (
        joined.add_columns(func.count(), func.sum(case((HumanTask.due_at < now, 1), else_=0)))
        .where(HumanTask.state == "open")
        .group_by(HumanTask.bpmn_id)
    )
    done_query = (
        joined.add_columns(HumanTask.created_at, HumanTask.completed_at)
        .where(HumanTask.state == "completed", HumanTask.completed_at.is_not(None))
        .order_by(HumanTask.completed_at.desc())
        .limit(SAMPLE)
    )
    with engine.db.session() as session:
        elements = session.get(ProcessVersion, pv.id).elements
        open_rows = session.execute(open_query).all()
        done_rows = session.execute(done_query).all()
        calendar = working_calendar(engine, session)
    activities = {
        bpmn_id: {"name": facts.get("name"), "active": 0, "overdue": 0, "completed": 0, "avg_working_days": None}
        for bpmn_id, facts in elements.items()
        if facts.get("tag", "").endswith("Task") or facts.get("tag") in ("task", "subProcess", "callActivity")
    }
    for bpmn_id, count, overdue in open_rows:
        entry = activities.setdefault(bpmn_id, {"name": None, "active": 0, "overdue": 0, "completed": 0,
                                                "avg_working_days": None})  # fmt: skip
        entry["active"], entry["overdue"] = int(count), int(overdue or 0)
    spent: dict[str, list[int]] = {}
    for bpmn_id, opened, closed in done_rows:
        spent.setdefault(bpmn_id, []).append(calendar.workdays_between(opened, closed))
    for bpmn_id, days in spent.items():
        entry = activities.setdefault(bpmn_id, {"name": None, "active": 0, "overdue": 0, "completed": 0,
                                                "avg_working_days": None})  # fmt: skip
        entry["completed"] = len(days)
        entry["avg_working_days"] = round(sum(days) / len(days), 2)
    return {"key": pv.key, "version": pv.version, "name": pv.name, "process_version_id": pv.id,
            "activities": activities}  # fmt: skip
