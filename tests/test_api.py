"""The JSON API through Flask's test client: every endpoint, the authorisation matrix (each role × each
endpoint), department isolation, hostile input, concurrent completion, and responses checked against the
OpenAPI document's own schemas."""

from __future__ import annotations

import threading

import pytest
from jsonschema import Draft202012Validator

from engine.attachments import AttachmentStore
from engine.colour import ColourPolicy
from engine.forms import FormLibrary
from engine.store.identity import ROLES
from tests.conftest import ROOT
from tests.people import HOUSING, MARKET, PASSWORD, role_user, seed_people
from webui import create_app

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
GREEN, YELLOW = "2026-10-30T23:59:59+08:00", "2026-09-21T23:59:59+08:00"
RED, RED_PLUS = "2026-09-16T23:59:59+08:00", "2026-09-10T23:59:59+08:00"  # today is Fri 2026-09-18


@pytest.fixture
def app(engine, deploy, tmp_path):
    seed_people(engine)
    engine.attachments = AttachmentStore(tmp_path / "files", engine.db, clock=engine.clock)
    deploy("approval_shape.bpmn")
    deploy("inbox_due.bpmn")
    return create_app(engine, {"TESTING": True, "SECRET_KEY": "test", "INSTANCE_DIR": str(tmp_path)})


@pytest.fixture
def api(app):
    return Api(app)


class Api:
    """A test client that signs in per user once and sends the bearer token."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.tokens: dict[str, str] = {}
        self.doc = self.client.get("/api/v1/openapi.json").get_json()

    def token(self, user: str) -> str:
        if user not in self.tokens:
            response = self.client.post("/api/v1/token", json={"username": user, "password": PASSWORD})
            assert response.status_code == 200, response.get_json()
            self.tokens[user] = response.get_json()["token"]
        return self.tokens[user]

    def call(self, method: str, path: str, user: str | None = None, client=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        response = (client or self.client).open(f"/api/v1{path}", method=method, headers=headers, **kwargs)
        assert response.is_json, (response.status_code, response.data[:200])  # never an HTML page
        return response

    def check(self, response, schema: str):
        """Validate a response body against a schema of the OpenAPI document."""
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{schema}", **self.doc})
        validator.validate(response.get_json())
        return response.get_json()

    def start(self, user="clerk.scjg", department=MARKET, process="inbox_due", **data) -> dict:
        data = {"department": department, "due": GREEN, **data}
        response = self.call("POST", "/cases", user, json={"process_key": process, "data": data})
        assert response.status_code == 201, response.get_json()
        return self.check(response, "Created")

    def open_task(self, case_id: str, user: str = "admin.scjg") -> dict:
        tasks = self.call("GET", f"/cases/{case_id}", user).get_json()["tasks"]
        assert len(tasks) == 1, tasks
        return tasks[0]


REVIEW = {"conclusion": "pass", "site_area": 35, "inspectors": [{"name": "张三", "badge": "123456"}]}


# -- sign-in -------------------------------------------------------------------------------------------------
def test_token_and_sign_in_errors(api, clock):
    ok = api.client.post("/api/v1/token", json={"username": "reviewer.scjg", "password": PASSWORD})
    body = api.check(ok, "Token")
    assert body["user"]["groups"] == [f"reviewer@{MARKET}"]
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).get_json()
    assert me["username"] == "reviewer.scjg"
    wrong = api.client.post("/api/v1/token", json={"username": "reviewer.scjg", "password": "nope-nope"})
    assert wrong.status_code == 401 and api.check(wrong, "Error")["error"] == "wrong user name or password"
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    missing = api.client.post("/api/v1/token", json={"username": "reviewer.scjg"})
    assert missing.status_code == 422 and api.check(missing, "ValidationError")["errors"] == [
        {"field": "password", "message": "required"}
    ]
    for _ in range(4):
        api.client.post("/api/v1/token", json={"username": "reviewer.scjg", "password": "nope-nope"})
    locked = api.client.post("/api/v1/token", json={"username": "reviewer.scjg", "password": PASSWORD})
    assert locked.status_code == 429 and "locked" in locked.get_json()["error"]
    assert 0 < int(locked.headers["Retry-After"]) <= 900


def test_bearer_token_required_and_checked(api, clock):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer not-a-token"}):
        response = api.client.get("/api/v1/tasks", headers=headers)
        assert response.status_code == 401 and "error" in response.get_json()
    token = api.token("reviewer.scjg")
    clock.advance(hours=13)
    expired = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401 and "expired" in expired.get_json()["error"]


def test_errors_are_json_never_html(api):
    assert api.call("GET", "/nowhere").status_code == 404
    wrong_method = api.call("DELETE", "/tasks", "clerk.scjg")
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET"
    not_json = api.call("POST", "/cases", "clerk.scjg", data="<html>", content_type="text/html")
    assert not_json.status_code == 400 and "JSON object" in not_json.get_json()["error"]
    assert api.call("GET", "/tasks/unknown-task", "clerk.scjg").status_code == 404
    assert api.call("POST", "/tasks/unknown-task/claim", "clerk.scjg").status_code == 404


# -- the OpenAPI document ------------------------------------------------------------------------------------
def test_openapi_describes_every_endpoint(api, app):
    doc = api.doc
    assert doc["openapi"].startswith("3.1")
    routes = {
        (rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}"), method.lower())
        for rule in app.url_map.iter_rules()
        # this blueprint's routes and the supervision API's, both under /api/v1
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.unknown_path"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes - {("/me", "get")} <= documented
    Draft202012Validator.check_schema({"$defs": doc["components"]["schemas"]})


# -- inbox ---------------------------------------------------------------------------------------------------
def test_inbox_filters_sort_paging_and_colour_counts(api, engine):
    engine.colour_policy = ColourPolicy(red_plus_workdays=3)  # the staging where red+ comes 3 working days after red
    cases = {due: api.start(due=due, item_code="SCJG-XK-001", applicant={"name": f"申请人{i}"})
             for i, due in enumerate([GREEN, YELLOW, RED, RED_PLUS])}  # fmt: skip
    other = api.start(process="approval_shape", item_code="SCJG-DJ-001", applicant={"name": "李四"})
    inbox = api.check(api.call("GET", "/tasks", "reviewer.scjg"), "Inbox")
    assert [t["colour"] for t in inbox["tasks"]] == ["red_plus", "red", "yellow", "green"]  # sorted by due
    assert inbox["total"] == 4 and inbox["counts"] == {"green": 1, "yellow": 1, "red": 1, "red_plus": 1, "none": 0}
    assert [t["days_left"] for t in inbox["tasks"]][1:3] == [-2, 2]  # Sun 09-20 is a working day (调休)
    assert api.call("GET", "/tasks", "clerk.scjg").get_json()["tasks"][0]["receipt_no"] == other["receipt_no"]

    def query(**args):
        return api.call("GET", "/tasks", "reviewer.scjg", query_string=args).get_json()

    only_red = query(colour="red,red_plus")
    assert only_red["total"] == 2 and only_red["counts"]["green"] == 1  # counts ignore the colour filter
    assert query(sort="-due")["tasks"][0]["colour"] == "green"
    page2 = query(per_page=3, page=2)
    assert [t["colour"] for t in page2["tasks"]] == ["green"] and page2["total"] == 4
    assert query(text="申请人2")["tasks"][0]["case_id"] == cases[RED]["id"]
    assert query(text=cases[YELLOW]["receipt_no"])["total"] == 1
    assert query(text="%")["total"] == 0  # a wildcard is a character, not a pattern
    assert query(item="SCJG-XK-001")["total"] == 4 and query(item="OTHER")["total"] == 0
    assert query(stage="review")["total"] == 4 and query(stage="decide")["total"] == 0
    assert query(department="qx")["total"] == 4 and query(department=HOUSING)["total"] == 0
    api.call("POST", f"/tasks/{api.open_task(cases[GREEN]['id'])['id']}/claim", "reviewer.scjg")
    assert query(assignee="me")["total"] == 1 and query(assignee="unassigned")["total"] == 3
    for bad in ({"sort": "name"}, {"colour": "purple"}, {"per_page": "1000"}, {"page": "x"}, {"owner": "x"}):
        response = api.call("GET", "/tasks", "reviewer.scjg", query_string=bad)
        assert response.status_code == 422, bad


# -- task actions --------------------------------------------------------------------------------------------
def test_claim_unclaim_delegate_complete_with_conflicts(api, engine):
    case = api.start()
    task = api.open_task(case["id"])
    path = f"/tasks/{task['id']}"
    detail = api.call("GET", path, "reviewer.scjg").get_json()
    assert detail["form"]["key"] == "test/review" and "site_area" in detail["form"]["schema"]["properties"]
    claimed = api.check(api.call("POST", f"{path}/claim", "reviewer.scjg"), "Task")
    assert claimed["assignee"] == "reviewer.scjg"
    taken = api.call("POST", f"{path}/claim", "reviewer2.scjg")
    assert taken.status_code == 409 and "already claimed by reviewer.scjg" in taken.get_json()["error"]
    assert api.call("POST", f"{path}/complete", "reviewer2.scjg", json={"data": REVIEW}).status_code == 409
    assert api.call("POST", f"{path}/unclaim", "reviewer2.scjg").status_code == 409
    assert api.call("POST", f"{path}/unclaim", "reviewer.scjg").get_json()["assignee"] is None
    no_one = api.call("POST", f"{path}/delegate", "reviewer.scjg", json={})
    assert no_one.status_code == 422 and no_one.get_json()["errors"][0]["field"] == "to"
    outside = api.call("POST", f"{path}/delegate", "reviewer.scjg", json={"to": "reviewer.zjj"})
    assert outside.status_code == 422 and "not a colleague" in outside.get_json()["error"]
    moved = api.call("POST", f"{path}/delegate", "reviewer.scjg", json={"to": "reviewer2.scjg"})
    assert moved.get_json()["assignee"] == "reviewer2.scjg"

    invalid = api.call("POST", f"{path}/complete", "reviewer2.scjg", json={"data": {"site_area": "大"}})
    assert invalid.status_code == 422
    errors = api.check(invalid, "ValidationError")["errors"]
    assert {"field": "site_area", "message": "应为数字"} in errors and {
        "field": "conclusion",
        "message": "必填",
    } in errors
    assert api.call("POST", f"{path}/complete", "reviewer2.scjg", json={"data": ["x"]}).status_code == 422

    done = api.call("POST", f"{path}/complete", "reviewer2.scjg", json={"data": {**REVIEW, "opinion": "同意"}})
    assert done.status_code == 200
    body = api.check(done, "Case")
    assert body["id"] == case["id"] and [t["bpmn_id"] for t in body["tasks"]] == ["decide"]
    again = api.call("POST", f"{path}/complete", "reviewer2.scjg", json={"data": REVIEW})
    assert again.status_code == 409 and "already completed by reviewer2.scjg" in again.get_json()["error"]
    history = api.call("GET", f"/cases/{case['id']}", "reviewer2.scjg").get_json()["history"]
    assert [e["action"] for e in history] == ["case_started", "task_claimed", "task_unclaimed", "task_delegated",
                                              "task_completed"]  # fmt: skip
    assert history[-1]["payload"]["opinion"] == "同意"


def test_backup_acts_for_absent_approver_through_the_api(api, engine):
    case = api.start()
    task = api.open_task(case["id"])
    api.call("POST", f"/tasks/{task['id']}/complete", "reviewer.scjg", json={"data": REVIEW})
    decide = api.open_task(case["id"])
    assert api.call("POST", f"/tasks/{decide['id']}/claim", "reviewer.scjg").status_code == 403
    engine.identity.set_absent("approver.scjg", "reviewer.scjg")
    listed = api.call("GET", "/tasks", "reviewer.scjg").get_json()["tasks"]
    assert [(t["bpmn_id"], t["on_behalf_of"]) for t in listed] == [("decide", "approver.scjg")]
    done = api.call("POST", f"/tasks/{decide['id']}/complete", "reviewer.scjg", json={"data": {"opinion": "代签"}})
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    last = api.call("GET", f"/cases/{case['id']}", "reviewer.scjg").get_json()["history"][-1]
    assert (last["actor"], last["payload"]["on_behalf_of"]) == ("reviewer.scjg", "approver.scjg")


def test_two_concurrent_completions_one_wins_one_conflict(api):
    case = api.start()
    task = api.open_task(case["id"])
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}
    for user in ("reviewer.scjg", "reviewer2.scjg"):
        api.token(user)

    def work(user):
        client = api.app.test_client()
        barrier.wait()
        response = api.call("POST", f"/tasks/{task['id']}/complete", user, client=client,
                            json={"data": {**REVIEW, "opinion": f"{user} 的意见"}})  # fmt: skip
        results[user] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=work, args=(u,)) for u in ("reviewer.scjg", "reviewer2.scjg")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(code for code, _ in results.values())
    assert statuses == [200, 409], results
    winner = next(u for u, (code, _) in results.items() if code == 200)
    loser_message = next(body["error"] for code, body in results.values() if code == 409)
    assert f"already completed by {winner}" in loser_message
    assert api.call("GET", f"/cases/{case['id']}", winner).get_json()["data"]["opinion"] == f"{winner} 的意见"


# -- authorisation matrix ------------------------------------------------------------------------------------
CAN_START = {"clerk", "admin"}


@pytest.mark.parametrize("role", list(ROLES))
def test_authorisation_matrix_each_role_each_endpoint(api, role):
    user = role_user(role)
    case = api.start()
    review = api.open_task(case["id"])
    accept_case = api.start(process="approval_shape")
    accept = api.open_task(accept_case["id"])

    inbox = api.call("GET", "/tasks", user)
    assert inbox.status_code == 200
    expected = {"reviewer": {review["id"]}, "clerk": {accept["id"]}}.get(role, set())
    assert {t["id"] for t in inbox.get_json()["tasks"]} == expected and inbox.get_json()["total"] == len(expected)

    started = api.call("POST", "/cases", user, json={"process_key": "inbox_due", "data": {"due": GREEN}})
    assert started.status_code == (201 if role in CAN_START else 403), started.get_json()

    assert api.call("GET", f"/cases/{case['id']}", user).status_code == 200  # same department

    claim = api.call("POST", f"/tasks/{review['id']}/claim", user)
    assert claim.status_code == (200 if role == "reviewer" else 403)
    unclaim = api.call("POST", f"/tasks/{review['id']}/unclaim", user)
    assert unclaim.status_code == (200 if role == "reviewer" else 403)
    delegate = api.call("POST", f"/tasks/{review['id']}/delegate", user, json={"to": "reviewer2.scjg"})
    assert delegate.status_code == (200 if role == "reviewer" else 403)

    complete = api.call("POST", f"/tasks/{accept['id']}/complete", user, json={"data": {"outcome": "accept"}})
    assert complete.status_code == (200 if role == "clerk" else 403)


@pytest.mark.parametrize("user", ["clerk.zjj", "reviewer.zjj", "approver.zjj"])
def test_other_department_sees_and_touches_nothing(api, user):
    case = api.start(applicant={"name": "市场局的申请人"})
    task = api.open_task(case["id"])
    accept_case = api.start(process="approval_shape")
    for args in ({}, {"department": MARKET}, {"text": case["receipt_no"]}, {"text": "市场局"}, {"stage": "review"},
                 {"assignee": "reviewer.scjg"}):  # fmt: skip
        listed = api.call("GET", "/tasks", user, query_string=args).get_json()
        assert listed["tasks"] == [] and listed["total"] == 0 and sum(listed["counts"].values()) == 0, args
    assert api.call("GET", f"/tasks/{task['id']}", user).status_code == 404
    assert api.call("GET", f"/cases/{case['id']}", user).status_code == 404
    assert api.call("GET", f"/cases/{case['receipt_no']}", user).status_code == 404
    for action in ("claim", "unclaim"):
        assert api.call("POST", f"/tasks/{task['id']}/{action}", user).status_code == 403
    assert api.call("POST", f"/tasks/{task['id']}/delegate", user, json={"to": "reviewer.zjj"}).status_code in (
        403,
        422,
    )
    assert api.call("POST", f"/tasks/{task['id']}/complete", user, json={"data": REVIEW}).status_code == 403
    accept = api.open_task(accept_case["id"])
    assert (
        api.call("POST", f"/tasks/{accept['id']}/complete", user, json={"data": {"outcome": "accept"}}).status_code
        == 403
    )
    assert api.open_task(case["id"])["assignee"] is None  # untouched


# -- hostile input -------------------------------------------------------------------------------------------
def test_xss_round_trips_as_data_only(api):
    case = api.start(applicant={"name": XSS}, note=XSS)
    task = api.open_task(case["id"])
    api.call("POST", f"/tasks/{task['id']}/complete", "reviewer.scjg", json={"data": {**REVIEW, "opinion": XSS}})
    response = api.call("GET", f"/cases/{case['id']}", "reviewer.scjg")
    assert response.mimetype == "application/json" and response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_json()
    assert body["data"]["applicant"]["name"] == XSS and body["data"]["opinion"] == XSS
    listed = api.call("GET", "/tasks", "approver.scjg", query_string={"text": "<script>"}).get_json()
    assert listed["tasks"][0]["applicant_name"] == XSS


def test_bad_case_requests_refused_with_reasons(api):
    def post(body, user="clerk.scjg"):
        return api.call("POST", "/cases", user, json=body)

    assert post({}).status_code == 422
    assert post({"process_key": "inbox_due", "data": "x"}).status_code == 422
    assert post({"process_key": "nothing"}).status_code == 404
    reserved = post({"process_key": "inbox_due", "data": {"_secret": 1, "due": GREEN}})
    assert reserved.status_code == 422 and "reserved" in reserved.get_json()["error"]
    unknown_item = post({"item_code": "NO-SUCH-ITEM", "applicant": {"name": "张三"}})
    assert unknown_item.status_code == 404 and "NO-SUCH-ITEM" in unknown_item.get_json()["error"]
    no_applicant = post({"item_code": "NO-SUCH-ITEM"})
    assert no_applicant.status_code == 422 and no_applicant.get_json()["errors"][0]["field"] == "applicant.name"


def test_accept_catalog_item_gives_receipt(api, engine):
    processes = ROOT / "processes"
    engine.forms_dir = ROOT / "forms"  # the procedure's own forms, for its lint at deploy
    engine.forms = FormLibrary(engine.forms_dir)
    engine.identity.load_departments(processes / "departments.toml")
    engine.repository.deploy_file(processes / "approval.bpmn", "designer")
    item = next(i for i in engine.catalog.load(processes / "catalog.toml") if i.department == MARKET)
    response = api.call("POST", "/cases", "clerk.scjg",
                        json={"item_code": item.code, "applicant": {"name": "王五", "kind": "person"}, "data": {}})  # fmt: skip
    assert response.status_code == 201, response.get_json()
    created = api.check(response, "Created")
    assert response.headers["Location"].endswith(f"/api/v1/cases/{created['id']}")
    case = api.call("GET", f"/cases/{created['receipt_no']}", "clerk.scjg").get_json()
    assert case["data"]["item_code"] == item.code and case["data"]["applicant"]["name"] == "王五"
    catalog_process = api.call("POST", "/cases", "clerk.scjg", json={"process_key": "approval"})
    assert catalog_process.status_code == 422 and "item_code" in catalog_process.get_json()["error"]
