"""Times shown to a person are on the service centre's wall clock (Asia/Shanghai unless GOVFLOW_TIMEZONE says
otherwise), the same date a clerk sees on the wall: in the command line, on the pages, in the CSV export and in the
replay labels; machines (the JSON API) get the stored UTC instant with its offset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import supervision_world as world

from engine import local_time
from engine.clock import configured_zone
from tests.conftest import FIXTURES, ROOT
from webui import create_app

MORNING = datetime(2026, 9, 18, 1, 30, tzinfo=UTC)  # 09:30 in Beijing, the same date
EVENING = datetime(2026, 9, 18, 17, 0, tzinfo=UTC)  # 01:00 in Beijing, the next date


def test_a_stored_instant_is_shown_on_the_local_wall_clock():
    assert local_time.shown(MORNING) == "2026-09-18 09:30"
    assert local_time.shown(EVENING) == "2026-09-19 01:00"
    assert local_time.shown(EVENING.isoformat(), local_time.DAY) == "2026-09-19"
    assert local_time.shown_with_offset(EVENING) == "2026-09-19 01:00 +08:00"
    assert local_time.shown(None) == "" and local_time.shown("not a time") == "not a time"
    assert local_time.zone_label() == "北京时间"


def test_a_zone_that_does_not_exist_is_refused_by_name():
    assert configured_zone({"GOVFLOW_TIMEZONE": "Asia/Urumqi"}).key == "Asia/Urumqi"
    assert configured_zone({}).key == "Asia/Shanghai"
    with pytest.raises(ValueError, match="GOVFLOW_TIMEZONE='Mars/Olympus' is not a time zone name"):
        configured_zone({"GOVFLOW_TIMEZONE": "Mars/Olympus"})


def _govflow(database_url: str, *args: str, zone: str | None = None) -> str:
    env = {**os.environ, "GOVFLOW_TIMEZONE": zone} if zone else {k: v for k, v in os.environ.items()
                                                                 if k != "GOVFLOW_TIMEZONE"}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--db", database_url, "--forms", str(FIXTURES / "forms"), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def test_the_command_line_shows_local_times_with_their_offset(engine, clock, database_url):
    engine.repository.deploy_file(FIXTURES / "approval_shape.bpmn", "designer")
    clock.set(MORNING)
    morning = engine.runtime.start("approval_shape", {"department": "market"}, started_by="clerk1")
    clock.set(EVENING)
    evening = engine.runtime.start("approval_shape", {"department": "market"}, started_by="clerk1")

    assert "2026-09-18 09:30:00 +08:00 clerk1" in _govflow(database_url, "case", morning.id)
    shown = _govflow(database_url, "case", evening.receipt_no)
    assert "2026-09-19 01:00:00 +08:00 clerk1" in shown and "17:00" not in shown
    # Another configured zone moves every shown time with it; the JSON keeps the stored UTC instant.
    assert "2026-09-18 23:00:00 +06:00" in _govflow(database_url, "case", evening.id, zone="Asia/Urumqi")
    assert '"at": "2026-09-18T17:00:00+00:00"' in _govflow(database_url, "case", evening.id, "--json")


@pytest.fixture
def console(engine, tmp_path):
    world.build(engine)
    app = create_app(engine, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                              "INSTANCE_DIR": str(tmp_path)})  # fmt: skip
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = client.post("/login", data={"username": "sup.a", "password": world.PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302
    return client


def test_the_supervision_pages_csv_and_replay_show_local_times(engine, clock, console):
    clock.set(MORNING)
    morning = world.start(engine, "town-a", applicant="王一")
    clock.set(EVENING)
    evening = world.start(engine, "town-a", applicant="李二")

    page = console.get(f"/supervision/cases/{morning.receipt_no}").get_data(as_text=True)
    assert "2026-09-18 09:30" in page and "01:30" not in page
    assert "页面时间均为中国标准时间（UTC+08:00）" in page
    page = console.get(f"/supervision/cases/{evening.receipt_no}").get_data(as_text=True)
    assert "2026-09-19 01:00" in page and "2026-09-18 17:00" not in page

    lines = console.get("/supervision/cases.csv").get_data(as_text=True).splitlines()
    header = lines[0].lstrip("\ufeff").split(",")
    assert "收件时间（北京时间）" in header and "承诺期限（北京时间）" in header
    received = {row.split(",")[0]: row.split(",")[header.index("收件时间（北京时间）")] for row in lines[1:]}
    assert received == {morning.receipt_no: "2026-09-18 09:30", evening.receipt_no: "2026-09-19 01:00"}

    replay = console.get(f"/supervision/cases/{evening.id}/replay.json").get_json()
    assert replay["frames"][0]["label"] == "第 1 / 1 步：2026-09-19 01:00 clerk.a 收件登记"
    assert replay["frames"][0]["at"] == "2026-09-18T17:00:00+00:00"  # the data behind it stays UTC
    assert replay["now"]["label"] == "当前状态（共 1 条留痕）"
    world.complete(engine, evening.id, "accept", "clerk.a", {"outcome": "accept"})
    replay = console.get(f"/supervision/cases/{evening.id}/replay.json").get_json()
    assert replay["frames"][1]["label"] == "第 2 / 2 步：2026-09-19 01:00 clerk.a 办理完成（受理）"


def test_the_footer_names_the_zone_in_english_too(engine, clock, console):
    page = console.get("/supervision/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    console.post("/language", data={"lang": "en", "csrf_token": token, "next": "/supervision/"})
    assert "Times on this page are China Standard Time (UTC+08:00)" in console.get("/supervision/").get_data(
        as_text=True
    )
    clock.set(EVENING)
    case = world.start(engine, "town-a")
    replay = console.get(f"/supervision/cases/{case.id}/replay.json").get_json()
    assert replay["frames"][0]["label"].startswith("Step 1 of 1: 2026-09-19 01:00 clerk.a Registered")
