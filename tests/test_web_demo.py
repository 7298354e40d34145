"""`govflow demo` seeding: the organisation from processes/, one account per role per relevant department,
and cases walked on a clock in the past so that some run yellow or red; the clerk's first screen works."""

from __future__ import annotations

from argon2 import PasswordHasher

from engine import demo
from tests.conftest import ROOT
from webui import create_app


def test_demo_seed_gives_accounts_and_cases_late_in_their_limits(engine, tmp_path):
    engine.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine.attachments.root = tmp_path / "files"
    engine.forms_dir = engine.forms.forms_dir = ROOT / "forms"
    engine.repository.deploy_file(ROOT / "processes" / "approval.bpmn", "demo")
    accounts = demo.seed_organisation(engine, ROOT / "processes")
    names = {a.username: a for a in accounts}
    assert {"scjg.clerk", "scjg.reviewer", "scjg.reviewer2", "scjg.approver", "zwfw.supervisor"} <= set(names)
    assert names["scjg.clerk"].roles == ("clerk",) and names["scjg.clerk"].department == "qx-scjg"
    assert engine.identity.acting_for("wsjk.reviewer2") == ["wsjk.reviewer"]
    # People are told apart by their names: no two demo accounts share one; a leader is named as the login says.
    assert len({a.display_name for a in accounts}) == len(accounts)
    assert names["qian.wei"].display_name == "钱伟"
    assert engine.identity.count_users() == len(accounts)
    assert demo.seed_organisation(engine, ROOT / "processes") == accounts  # idempotent, no second set of users
    assert engine.identity.count_users() == len(accounts)

    assert demo.seed_cases(engine, count=10) == 10
    open_tasks = engine.tasks.query(limit=100)
    badges = engine.deadlines.task_badges(open_tasks)
    colours = {b["colour"] for b in badges if b}
    assert len(colours) >= 2 and colours & {"yellow", "red", "red_plus"}, colours
    assert "demo accounts (password for all: govflow-demo)" in demo.accounts_table(accounts)

    app = create_app(engine, {"SECRET_KEY": "t", "SESSION_COOKIE_SECURE": False, "INSTANCE_DIR": str(tmp_path)})
    client = app.test_client()
    from tests.web_helpers import csrf_token

    token = csrf_token(client)
    response = client.post("/login", data={"username": "scjg.clerk", "password": demo.DEMO_PASSWORD,
                                           "csrf_token": token})  # fmt: skip
    assert response.status_code == 302
    page = client.get("/accept/").get_data(as_text=True)
    assert "食品经营许可" in page
