"""The demo county as `govflow demo` seeds it (processes/, the demo accounts, cases walked on a clock in the past),
with the timers fired up to now and a day's supervision and casework on top: alerts raised and answered, a
letter, a clock stop, an extension, a delegated and an unclaimed task, a suspended case. What the page walks and
the browser tests of the demo look at."""

from __future__ import annotations

from argon2 import PasswordHasher

from engine import demo, scheduler
from engine.supervision import CaseFilter
from tests.conftest import ROOT

PASSWORD = demo.DEMO_PASSWORD
# One account of each kind of person who works the demo (README: demo accounts).
PEOPLE = {
    "clerk": "scjg.clerk",
    "reviewer": "scjg.reviewer",
    "approver": "scjg.approver",
    "leader": "qian.wei",
    "supervisor": "zwfw.supervisor",
}


def build(engine, tmp_path, cases: int = 14) -> list[demo.DemoAccount]:
    """Seed the demo into the engine's empty database; returns the demo accounts."""
    engine.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine.attachments.root = tmp_path / "files"
    engine.forms_dir = engine.forms.forms_dir = ROOT / "forms"
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        engine.repository.deploy_file(path, "demo")
    accounts = demo.seed_organisation(engine, ROOT / "processes")
    demo.seed_cases(engine, count=cases)
    scheduler.drain(engine)
    _day_of_work(engine)
    return accounts


def _to_the_approver(engine) -> None:
    """Complete the review of one market-supervision case unclaimed, so that the approver has a decision to take."""
    for task in engine.tasks.query(groups=["reviewer@qx-scjg"], limit=50):
        if task.bpmn_id == "review" and not task.assignee:
            reviewer = engine.identity.actor(PEOPLE["reviewer"])
            engine.tasks.claim(task.id, actor=reviewer)
            answer = {**demo.task_answer(engine, task), "recommendation": "approve", "needs_verification": False,
                      "special_procedure": "none", "extension_requested": False}  # fmt: skip
            engine.tasks.complete(task.id, data=answer, actor=reviewer)
            return


def _day_of_work(engine) -> None:
    _to_the_approver(engine)
    supervisor = engine.identity.get_user(PEOPLE["supervisor"])
    scope = engine.supervision.scope(supervisor)
    alerts = engine.supervision.alerts(scope)
    if alerts:
        engine.supervision.acknowledge(supervisor, alerts[0]["id"], "已电话提醒经办人")
    if len(alerts) > 1:
        engine.supervision.issue_letter(
            supervisor, alerts[1]["id"], alerts[1]["department"], 3, "请于三个工作日内书面说明"
        )
    reviews = [t for t in engine.tasks.query(limit=200) if t.bpmn_id == "review" and t.assignee]
    if reviews:
        task = reviews[0]
        reviewer = engine.identity.actor(task.assignee)
        engine.deadlines.stop_clock(task.case_id, "testing", basis="《中华人民共和国行政许可法》第四十五条",
                                    actor=reviewer.username, who=reviewer)  # fmt: skip
        engine.deadlines.resume_clock(task.case_id, actor=reviewer.username, who=reviewer)
        colleague = next((u.username for u in engine.identity.colleagues(reviewer.username)
                          if "reviewer" in u.roles and engine.identity.absence(u.username) is None), None)  # fmt: skip
        if colleague:
            engine.tasks.delegate(task.id, to_user=colleague, actor=reviewer)
    if len(reviews) > 1:
        engine.tasks.unclaim(reviews[1].id, actor=engine.identity.actor(reviews[1].assignee))
    running = [c for c in engine.supervision.cases(scope, all_cases()).rows if c["status"] == "running"]
    if running:
        engine.supervision.act("suspend", supervisor, running[-1]["receipt_no"], "核查申请人投诉")


def all_cases():
    """The case list's filter that lets every case of the scope through."""
    return CaseFilter.from_args({"per_page": "200"})
