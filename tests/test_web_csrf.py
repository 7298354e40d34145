"""Every form posts with a CSRF token; a POST without one is refused and changes nothing. Search and filter
text is rendered escaped."""

from __future__ import annotations

import pytest

from tests.web_helpers import accept_case, open_task, post, start_case, text

pytest_plugins = ["tests.web_fixtures"]


@pytest.fixture
def review_task(site):
    case = start_case(site)
    accept_case(site, case)
    return open_task(site, case, "review")


def test_every_post_without_token_is_refused(site, signed_in, review_task):
    client = signed_in("wang.rev")
    posts = {
        f"/tasks/{review_task.id}/claim": {},
        f"/tasks/{review_task.id}/unclaim": {},
        f"/tasks/{review_task.id}/delegate": {"to": "zhao.rev"},
        f"/tasks/{review_task.id}": {"opinion": "x"},
        f"/tasks/{review_task.id}/files": {},
        "/inbox/filters": {"name": "x"},
        "/inbox/filters/1/delete": {},
        "/accept/MKT-001": {"applicant_name": "x"},
        "/language": {"lang": "en"},
        "/logout": {},
    }
    for path, data in posts.items():
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "安全校验未通过" in text(response), path
    assert site.tasks.get(review_task.id).assignee is None
    assert site.catalog.list() and len(site.tasks.query(limit=10)) == 1
    assert client.get("/inbox").status_code == 200  # still signed in: logout was refused too


def test_a_token_of_another_session_is_refused(site, signed_in, review_task):
    wang, zhao = signed_in("wang.rev"), signed_in("zhao.rev")
    from tests.web_helpers import csrf_token

    foreign = csrf_token(zhao, "/inbox")
    response = wang.post(f"/tasks/{review_task.id}/claim", data={"csrf_token": foreign})
    assert response.status_code == 400
    assert site.tasks.get(review_task.id).assignee is None


def test_search_text_and_filter_names_are_escaped(site, signed_in, review_task):
    payload = "<script>alert(1)</script>"
    client = signed_in("wang.rev")
    page = text(client.get("/inbox", query_string={"q": payload, "stage": payload, "item": payload}))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    post(client, "/inbox/filters", {"name": payload, "q": payload})
    page = text(client.get("/inbox"))
    assert "<script>alert(1)" not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2
