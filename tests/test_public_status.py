"""进度查询 (issue 15 item 3): a member of the public looks a case up by its receipt number and the check code
printed on the receipt, without signing in; sees where it stands and nothing more; a wrong code answers as an
unknown number does; lookups are rate-limited; the public API answers the same."""

from __future__ import annotations

import re

import pytest
from alembic import command

from engine import public_status
from engine.store import upgrade
from engine.store.migrate import alembic_config
from tests import procedures_kit as kit
from tests.procedures_kit import procedures_fixture  # noqa: F401 - the `procedures` fixture
from tests.web_helpers import accept_case, login, start_case, text
from webui import create_app, public

pytest_plugins = ["tests.web_fixtures"]


def _token(client, path: str = "/status") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text(client.get(path))).group(1)


def _look_up(client, receipt_no: str, code: str):
    return client.post("/status", data={"receipt_no": receipt_no, "code": code, "csrf_token": _token(client)})


def _answer(html: str) -> str:
    """The page without what the visitor typed (echoed in the form): the part that answers."""
    return html.split('class="panel public-lookup"', 1)[1].split("</section>", 1)[1]


@pytest.fixture
def accepted(site):
    case = start_case(site)
    accept_case(site, case)
    return site.runtime.describe(case.id)


def test_the_check_code_opens_the_public_status_and_nothing_else(site, app, accepted):
    code = accepted["check_code"]
    assert re.fullmatch(f"[{public_status.CHECK_ALPHABET}]{{6}}", code)
    client = app.test_client()
    page = text(_look_up(client, accepted["receipt_no"], f" {code.lower()} "))  # as typed on a phone
    answer = _answer(page)
    for shown in ("食品经营许可", "示范县市场监督管理局", "办理中", "审查", "承诺办结日期", "法定办结日期"):
        assert shown in answer, shown
    # no officer, no applicant, no opinion, no engine code
    for hidden in ("李窗口", "li.clerk", "鑫源", "予以受理", "running", "review", "accept_outcome"):
        assert hidden not in answer, hidden


def test_a_wrong_code_and_an_unknown_number_get_the_same_answer(site, app, accepted):
    client = app.test_client()
    wrong = _answer(text(_look_up(client, accepted["receipt_no"], "AAAAAA")))
    unknown = _answer(text(_look_up(client, "SCJG-20990101-00001", "AAAAAA")))
    assert wrong == unknown and "未查到与该办件编号和查询码相符的办件" in wrong
    assert public_status.look_up(site, accepted["receipt_no"], "AAAAAA") is None
    assert public_status.look_up(site, "SCJG-20990101-00001", accepted["check_code"]) is None
    assert public_status.look_up(site, accepted["receipt_no"], "") is None


def test_the_one_time_notice_is_shown_while_the_applicant_supplements(procedures, tmp_path):
    """The approval procedure: the window issues the one-time notice; the applicant sees what to bring until the
    supplemented application is accepted."""
    engine = procedures
    names = [m.name for m in engine.catalog.get("SCJG-XK-001").materials]
    case = kit.apply(engine, "SCJG-XK-001", provided=names[:2])
    missing = kit.data(engine, case.id)["missing_materials"]
    kit.complete(engine, case.id, "accept", {"accept_outcome": "supplement", "missing_materials": missing}, "clerk.li")
    code = engine.runtime.describe(case.id)["check_code"]
    status = public_status.look_up(engine, case.receipt_no, code)
    assert status is not None and status.missing_materials == missing and status.status == "running"
    app = create_app(engine, {"SECRET_KEY": "t", "SESSION_COOKIE_SECURE": False, "INSTANCE_DIR": str(tmp_path)})
    answer = _answer(text(_look_up(app.test_client(), case.receipt_no, code)))
    assert "一次性告知" in answer and all(m in answer for m in missing)
    kit.send(engine, case.id, "supplement_received", {"supplemented": missing})
    kit.complete(engine, case.id, "accept", {"accept_outcome": "accept", "opinion": "予以受理。"}, "clerk.li")
    assert public_status.look_up(engine, case.receipt_no, code).missing_materials == []


def test_what_is_typed_comes_back_escaped(app):
    payload = '<script>alert("x")</script>'
    page = text(_look_up(app.test_client(), payload, payload))
    assert payload not in page and "&lt;script&gt;" in page


def test_lookups_are_rate_limited_per_address_for_the_page_and_the_api_alike(site, tmp_path, accepted):
    app = create_app(site, {"SECRET_KEY": "t", "SESSION_COOKIE_SECURE": False, "INSTANCE_DIR": str(tmp_path),
                            "PUBLIC_LOOKUP_LIMIT": "3 per minute"})  # fmt: skip
    client = app.test_client()
    assert client.get("/status").status_code == 200  # the empty form is no lookup
    answers = [_look_up(client, accepted["receipt_no"], "WRONG1").status_code for _ in range(2)]
    api = client.get(f"/api/v1/public/cases/{accepted['receipt_no']}", query_string={"code": "WRONG2"})
    assert answers == [200, 200] and api.status_code == 404
    refused = _look_up(client, accepted["receipt_no"], accepted["check_code"])
    assert refused.status_code == 429 and "查询过于频繁" in text(refused)
    again = client.get(f"/api/v1/public/cases/{accepted['receipt_no']}", query_string={"code": "X"})
    assert again.status_code == 429 and "too many lookups" in again.get_json()["error"]


def test_the_public_api_answers_without_a_token(app, accepted):
    client = app.test_client()
    url = f"/api/v1/public/cases/{accepted['receipt_no']}"
    body = client.get(url, query_string={"code": accepted["check_code"]}).get_json()
    assert body["receipt_no"] == accepted["receipt_no"] and body["status"] == "running"
    assert body["department_name"] == "示范县市场监督管理局" and body["item_name"] == "食品经营许可"
    assert [s["name"] for s in body["stages"]] == ["审查"] and body["promised_due"]
    assert "data" not in body and "tasks" not in body and "li.clerk" not in str(body)
    wrong = client.get(url, query_string={"code": "AAAAAA"})
    unknown = client.get("/api/v1/public/cases/SCJG-20990101-00001", query_string={"code": "AAAAAA"})
    assert wrong.status_code == unknown.status_code == 404 and wrong.get_json() == unknown.get_json()
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/public/cases/{receipt_no}" in doc["paths"]


def test_the_receipt_prints_the_check_code_and_a_qr_code_of_the_lookup(site, app, accepted):
    client = app.test_client()
    login(client, "li.clerk")
    page = text(client.get(f"/accept/cases/{accepted['id']}/receipt"))
    assert accepted["check_code"] in page
    assert 'class="qr" src="data:image/svg+xml' in page
    with app.test_request_context():  # the QR code carries the lookup's address with the number and the code
        link = public.status_link(accepted["receipt_no"], accepted["check_code"])
        assert f"/status?receipt_no={accepted['receipt_no']}&code={accepted['check_code']}" in link
        assert public.qr_data_uri(link) in page.replace("&amp;", "&")
    # the QR code's address opens the status straight away
    scanned = app.test_client().get("/status", query_string={"receipt_no": accepted["receipt_no"],
                                                              "code": accepted["check_code"]})  # fmt: skip
    assert "食品经营许可" in _answer(text(scanned))


def test_a_visitor_who_is_not_signed_in_is_offered_the_lookup_not_the_inbox(app):
    page = text(app.test_client().get("/guide-that-does-not-exist"))
    assert "办件进度查询" in page and 'href="/status"' in page and "返回我的待办" not in page


def test_cases_kept_before_check_codes_get_one_at_the_upgrade(site, accepted):
    command.downgrade(alembic_config(site.db), "0011")
    upgrade(site.db)
    code = site.runtime.describe(accepted["id"])["check_code"]
    assert re.fullmatch(f"[{public_status.CHECK_ALPHABET}]{{6}}", code) and code != accepted["check_code"]
    assert public_status.look_up(site, accepted["receipt_no"], code) is not None
    assert public_status.look_up(site, accepted["receipt_no"], accepted["check_code"]) is None
