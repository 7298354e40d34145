"""The supervision console pages and its JSON API, through the Flask test client."""

from __future__ import annotations

import re

import pytest
import supervision_world as world

from engine.store import SupervisionAlert
from engine.store.supervision import AlertAction
from webui import create_app


@pytest.fixture
def app(engine, tmp_path):
    world.build(engine)
    return create_app(engine, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                               "INSTANCE_DIR": str(tmp_path)})  # fmt: skip


def _client(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": world.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def _token(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_case_list_shows_the_towns_cases_only_with_counts_and_csv(app, engine):
    mine = world.start(engine, "town-a", applicant="王一")
    theirs = world.start(engine, "town-b", applicant="李三", officer="clerk.b")
    client = _client(app, "sup.a")
    page = client.get("/supervision/").get_data(as_text=True)
    assert mine.receipt_no in page and theirs.receipt_no not in page
    assert 'data-colour="green"' in page
    filtered = client.get("/supervision/?applicant=李").get_data(as_text=True)
    assert mine.receipt_no not in filtered and "没有符合条件的办件" in filtered
    csv = client.get("/supervision/cases.csv").get_data(as_text=True)
    assert mine.receipt_no in csv and theirs.receipt_no not in csv and csv.startswith("\ufeff办件编号")
    assert client.get(f"/supervision/cases/{theirs.receipt_no}").status_code == 404
    assert client.get("/supervision/?received_from=yesterday").status_code == 422


def test_clerks_may_not_open_the_console(app):
    assert _client(app, "clerk.a").get("/supervision/").status_code == 403
    anonymous = app.test_client().get("/supervision/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_case_page_shows_diagram_deadlines_trail_and_chain_and_replay_json(app, engine):
    case = world.start(engine, "town-a")
    world.complete(engine, case.id, "accept", "clerk.a", {"outcome": "accept"})
    client = _client(app, "sup.a")
    page = client.get(f"/supervision/cases/{case.receipt_no}").get_data(as_text=True)
    assert 'id="diagram"' in page and "/supervision/vendor/bpmn-viewer.js" in page
    assert "留痕链完整（2 条）" in page and "办理完成" in page and "task_completed" not in page
    replay = client.get(f"/supervision/cases/{case.id}/replay.json").get_json()
    assert [f["action"] for f in replay["frames"]] == ["case_started", "task_completed"]
    assert replay["now"]["active"] == ["review"]
    xml = client.get(page.split('data-xml="')[1].split('"')[0])
    assert xml.status_code == 200 and b"supervised_approval" in xml.data


def test_supervisor_suspends_with_a_reason_from_the_page(app, engine):
    case = world.start(engine, "town-a")
    client = _client(app, "sup.a")
    path = f"/supervision/cases/{case.id}"
    token = _token(client, path)
    refused = client.post(f"{path}/suspend", data={"reason": "", "csrf_token": token}, follow_redirects=True)
    assert "reason is required" in refused.get_data(as_text=True)
    assert engine.runtime.get(case.id).status == "running"
    client.post(f"{path}/suspend", data={"reason": "群众投诉核查", "csrf_token": token})
    assert engine.runtime.get(case.id).status == "suspended"
    assert engine.history.trail(case.id)[-1].payload["reason"] == "群众投诉核查"


def test_alerts_board_acknowledge_letter_and_accountability(app, engine):
    case = world.start(engine, "town-a")
    world.complete(engine, case.id, "accept", "clerk.a", {"outcome": "refuse"})  # no reason: a rule alert
    client = _client(app, "sup.a")
    page = client.get("/supervision/alerts").get_data(as_text=True)
    assert "不予受理或不予许可未说明理由" in page and "行政许可法第32条、第38条第2款" in page
    with engine.db.session() as session:
        alert_id = session.query(SupervisionAlert.id).filter_by(case_id=case.id).scalar()
    token = _token(client, "/supervision/alerts")
    sent = client.post(
        f"/supervision/alerts/{alert_id}/letter",
        follow_redirects=True,
        data={"department": "town-a", "reply_workdays": "3", "note": "请说明情况", "csrf_token": token},
    )
    assert "已发出督办函 监督〔2026〕0001号" in sent.get_data(as_text=True)
    client.post("/supervision/accountability",
                data={"target_kind": "officer", "target": "clerk.a", "fault_kind": "wrongful_refusal",
                      "measure": "admonition", "reason": "未说明理由退件", "alert_id": str(alert_id),
                      "csrf_token": token})  # fmt: skip
    client.post(f"/supervision/alerts/{alert_id}/acknowledge", data={"note": "已整改", "csrf_token": token})
    board = client.get("/supervision/alerts").get_data(as_text=True)
    assert "没有未处理的预警" in board and "未说明理由退件" in board
    closed = client.get("/supervision/alerts?closed=1").get_data(as_text=True)
    assert "督办函，回复期限 2026-09-22" in closed  # 3 working days after Friday 09-18: 09-20 (调休), 09-21, 09-22


def test_statistics_page_has_charts_ranking_and_csv(app, engine, clock):
    case = world.start(engine, "town-a")
    world.approve_all(engine, clock, case.id, "clerk.a")
    client = _client(app, "sup.county")
    page = client.get("/supervision/statistics?from=2026-09-01&to=2026-09-30").get_data(as_text=True)
    assert page.count("<svg") == 2 and 'data-key="town-a"' in page and "服务标兵" in page
    csv = client.get("/supervision/statistics?by=officer&from=2026-09-01&to=2026-09-30&format=csv").get_data(
        as_text=True
    )
    assert "clerk.a" in csv
    process = client.get("/supervision/processes/supervised_approval").get_data(as_text=True)
    assert 'data-activity="review"' in process


def test_json_api_with_a_token_and_in_the_scope(app, engine, clock):
    mine = world.start(engine, "town-a")
    world.start(engine, "town-b", officer="clerk.b")
    world.complete(engine, mine.id, "accept", "clerk.a", {"outcome": "accept"})
    client = app.test_client()
    assert client.get("/api/v1/cases").status_code == 401
    token = engine.identity.issue_token("sup.a")
    headers = {"Authorization": f"Bearer {token}"}
    cases = client.get("/api/v1/cases?sort=-created_at", headers=headers).get_json()
    assert [c["receipt_no"] for c in cases["cases"]] == [mine.receipt_no] and cases["counts"]["green"] == 1
    assert client.get("/api/v1/cases?colour=blue", headers=headers).status_code == 422
    trail = client.get(f"/api/v1/cases/{mine.receipt_no}/trail", headers=headers).get_json()
    assert trail["chain"]["ok"] and [f["active"] for f in trail["frames"]] == [["accept"], ["review"]]
    assert client.get("/api/v1/alerts", headers=headers).get_json() == {"alerts": []}
    stats = client.get("/api/v1/stats?by=department&from=2026-09-01&to=2026-09-30", headers=headers).get_json()
    assert [r["key"] for r in stats["rows"]] == ["town-a"]
    counts = client.get("/api/v1/processes/supervised_approval/activity-counts", headers=headers).get_json()
    assert counts["activities"]["review"]["active"] == 1
    clerk = {"Authorization": f"Bearer {engine.identity.issue_token('clerk.a')}"}
    assert client.get("/api/v1/cases", headers=clerk).status_code == 403


def test_stages_are_named_not_coded_on_the_pages_the_csv_and_the_api(app, engine):
    case = world.start(engine, "town-a")  # stands at acceptance
    refused = world.start(engine, "town-a")
    world.complete(engine, refused.id, "accept", "clerk.a", {"outcome": "refuse"})  # a rule alert at 受理
    client = _client(app, "sup.a")
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{case.receipt_no}(?:(?!</tr>).)*</tr>",
                    client.get("/supervision/").get_data(as_text=True), re.S).group(0)  # fmt: skip
    assert '<td class="clip" title="受理">受理</td>' in row and "accept" not in row
    csv = client.get("/supervision/cases.csv").get_data(as_text=True)
    assert ",受理," in next(line for line in csv.splitlines() if case.receipt_no in line)
    board = client.get("/supervision/alerts").get_data(as_text=True)
    assert '<small title="受理">受理</small>' in board and ">accept<" not in board
    headers = {"Authorization": f"Bearer {engine.identity.issue_token('sup.a')}"}
    (alert,) = client.get("/api/v1/alerts", headers=headers).get_json()["alerts"]
    assert (alert["stage"], alert["stage_name"]) == ("accept", "受理")


def _hrefs(page: str, marker: str) -> list[str]:
    """The links of the pager (`marker`: what the nav's links have in common)."""
    nav = re.search(r'<nav class="pager[^>]*>(.*?)</nav>', page, re.S).group(1)
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', nav) if marker in h]


def _rows(page: str, table: str) -> int:
    body = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return body.count("<tr data-")


def test_case_list_pages_keep_the_filters_and_the_stage_filter_takes_the_name_shown(app, engine):
    cases = [world.start(engine, "town-a", applicant=f"王{n:02d}") for n in range(23)]
    for case in cases[:3]:
        world.complete(engine, case.id, "accept", "clerk.a", {"outcome": "accept"})  # now in review
    client = _client(app, "sup.a")
    page = client.get("/supervision/?applicant=王").get_data(as_text=True)
    assert "共 23 件 · 第 1 / 2 页" in page and _rows(page, "case-list") == 20
    (second,) = set(_hrefs(page, "page=2"))
    assert "applicant=%E7%8E%8B" in second and "per_page=" not in second  # the filters, not the default size
    assert _rows(client.get(second).get_data(as_text=True), "case-list") == 3
    assert _rows(client.get("/supervision/?per_page=50").get_data(as_text=True), "case-list") == 23
    assert _rows(client.get("/supervision/?per_page=7").get_data(as_text=True), "case-list") == 20  # no such size
    assert 'class="table-scroll"' in page and 'title="食品经营许可"' in page  # the full text on hover
    in_review = sorted(c.receipt_no for c in cases[:3])
    for asked in ("审查", "review"):
        found = client.get(f"/supervision/?stage={asked}").get_data(as_text=True)
        assert sorted(re.findall(r'<tr data-receipt="([^"]+)"', found)) == in_review
    csv = client.get("/supervision/cases.csv?stage=审查").get_data(as_text=True)
    assert len(csv.splitlines()) == 4
    unknown = client.get("/supervision/?stage=无此环节").get_data(as_text=True)
    assert 'id="stage-unknown"' in unknown and _rows(unknown, "case-list") == 0
    client.post("/language", data={"lang": "en", "csrf_token": _token(client, "/supervision/")})
    english = client.get("/supervision/?stage=Review").get_data(as_text=True)
    assert sorted(re.findall(r'<tr data-receipt="([^"]+)"', english)) == in_review
    assert '<option value="Review">' in english  # the names to choose from, in the page's language


def _refused_alerts(engine, n: int, department: str = "town-a", officer: str = "clerk.a") -> list[int]:
    ids = []
    for _ in range(n):
        case = world.start(engine, department, officer=officer)
        world.complete(engine, case.id, "accept", officer, {"outcome": "refuse"})  # no reason: a rule alert
        with engine.db.session() as session:
            ids.append(session.query(SupervisionAlert.id).filter_by(case_id=case.id).scalar())
    return ids


def test_alerts_board_pages_keep_the_filters_and_acknowledges_the_ticked_alerts_with_one_note(app, engine):
    mine = _refused_alerts(engine, 22)
    (theirs,) = _refused_alerts(engine, 1, "town-b", "clerk.b")
    client = _client(app, "sup.a")
    page = client.get("/supervision/alerts?kind=refuse_without_reason").get_data(as_text=True)
    assert "共 22 条预警 · 第 1 / 2 页" in page and _rows(page, "alerts") == 20
    (second,) = set(_hrefs(page, "page=2"))
    assert "kind=refuse_without_reason" in second
    assert _rows(client.get(second).get_data(as_text=True), "alerts") == 2
    assert 'form="bulk-ack"' in page and 'data-select-all="bulk-ack"' in page and 'class="table-scroll"' in page
    chosen = {"alert_id": [str(mine[0]), str(mine[1])], "note": "已电话提醒经办人"}
    assert client.post("/supervision/alerts/acknowledge", data=chosen).status_code == 400  # no CSRF token
    token = _token(client, "/supervision/alerts")
    done = client.post("/supervision/alerts/acknowledge", follow_redirects=True,
                       data={**chosen, "csrf_token": token, "next": "/supervision/alerts?kind=refuse_without_reason"})  # fmt: skip
    text = done.get_data(as_text=True)
    assert "已处理 2 条预警" in text and "共 20 条预警" in text and done.request.args["kind"] == "refuse_without_reason"
    with engine.db.session() as session:
        acts = session.query(AlertAction).filter_by(kind="acknowledge").order_by(AlertAction.alert_id).all()
    assert [(a.alert_id, a.acted_by, a.note) for a in acts] == [(i, "sup.a", "已电话提醒经办人") for i in mine[:2]]
    refused = client.post("/supervision/alerts/acknowledge", follow_redirects=True,
                          data={"alert_id": [str(mine[2]), str(theirs)], "note": "x", "csrf_token": token})  # fmt: skip
    assert "全部未作处理" in refused.get_data(as_text=True)
    empty = client.post("/supervision/alerts/acknowledge", data={"note": "x", "csrf_token": token, "next": "//evil"})
    assert empty.headers["Location"] == "/supervision/alerts"  # never to another site
    assert "请先勾选要处理的预警" in client.get("/supervision/alerts").get_data(as_text=True)
    with engine.db.session() as session:
        assert session.query(AlertAction).filter_by(kind="acknowledge").count() == 2
