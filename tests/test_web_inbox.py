"""The inbox page: my tasks and my groups' tasks, claim / unclaim / delegate, filters saved and counted,
paging, the in-place refresh, and that another department's tasks never show."""

from __future__ import annotations

import re

from tests.web_helpers import accept_case, open_task, post, start_case, text

pytest_plugins = ["tests.web_fixtures"]


def _rows(page: str) -> list[str]:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return re.findall(r'href="/tasks/[^"]+">([A-Z]+-\d{8}-\d{5})</a>', body)


def test_group_tasks_show_with_item_applicant_and_badge(site, signed_in):
    case = start_case(site)
    accept_case(site, case)
    page = text(signed_in("wang.rev").get("/inbox"))
    assert _rows(page) == [case.receipt_no]
    assert "食品经营许可" in page and "示范县鑫源餐饮管理有限公司" in page and "审查" in page
    assert "badge-green" in page and "剩 6 个工作日" in page
    assert "待签收" in page


def test_claim_unclaim_and_delegate_to_a_colleague(site, signed_in):
    case = start_case(site)
    accept_case(site, case)
    task = open_task(site, case, "review")
    wang = signed_in("wang.rev")
    response = post(wang, f"/tasks/{task.id}/claim", {"next": "/inbox"})
    assert response.status_code == 302 and response.location == "/inbox"
    assert site.tasks.get(task.id).assignee == "wang.rev"
    assert "已签收任务" in text(wang.get("/inbox"))
    # zhao no longer sees it (claimed by a colleague) ...
    assert _rows(text(signed_in("zhao.rev").get("/inbox"))) == []
    post(wang, f"/tasks/{task.id}/unclaim")
    assert site.tasks.get(task.id).assignee is None
    assert _rows(text(signed_in("zhao.rev").get("/inbox"))) == [case.receipt_no]
    # ... and delegation goes to a colleague of the same department only.
    post(wang, f"/tasks/{task.id}/claim")
    page = text(post(wang, f"/tasks/{task.id}/delegate", {"to": "he.rev"}, follow_redirects=True))
    assert "操作未完成" in page and site.tasks.get(task.id).assignee == "wang.rev"
    page = text(post(wang, f"/tasks/{task.id}/delegate", {"to": "zhao.rev"}, follow_redirects=True))
    assert "已转办给 zhao.rev" in page
    assert site.tasks.get(task.id).assignee == "zhao.rev"
    assert _rows(text(signed_in("zhao.rev").get("/inbox"))) == [case.receipt_no]


def test_another_departments_tasks_are_invisible(site, signed_in):
    market = start_case(site)
    accept_case(site, market)
    task = open_task(site, market, "review")
    he = signed_in("he.rev")
    page = text(he.get("/inbox"))
    assert _rows(page) == [] and market.receipt_no not in page and "鑫源" not in page
    assert re.search(r"全部 <b>0</b>", page)
    assert he.get(f"/tasks/{task.id}").status_code == 404
    assert post(he, f"/tasks/{task.id}", {"opinion": "x"}).status_code == 404
    post(he, f"/tasks/{task.id}/claim")
    assert site.tasks.get(task.id).assignee is None
    # a filter naming the other department leaks nothing either
    assert _rows(text(he.get("/inbox?department=market"))) == []


def test_filters_counts_saved_filters_and_paging(site, app, signed_in):
    cases = [start_case(site, applicant_name=f"申请人{i}") for i in range(5)]
    for case in cases:
        accept_case(site, case)
    health = start_case(site, "HLT-001", applicant_name="卫生申请人", materials=("卫生许可申请表",))
    app.config["INBOX_PER_PAGE"] = 2
    wang = signed_in("wang.rev")
    page = text(wang.get("/inbox"))
    assert len(_rows(page)) == 2 and "第 1 / 3 页" in page
    assert len(_rows(text(wang.get("/inbox?page=3")))) == 1
    page = text(wang.get("/inbox?q=申请人3"))
    assert _rows(page) == [cases[3].receipt_no]
    assert _rows(text(wang.get(f"/inbox?q={cases[1].receipt_no}"))) == [cases[1].receipt_no]
    assert _rows(text(wang.get("/inbox?colour=red"))) == []
    assert len(_rows(text(wang.get("/inbox?colour=green&item=MKT-001")))) == 2
    # save a filter, see its count beside it, reuse it, delete it
    response = post(wang, "/inbox/filters", {"name": "三号", "q": "申请人3"})
    assert response.status_code == 302
    page = text(wang.get("/inbox"))
    link = re.search(r'<a href="(/inbox\?q=[^"]+)">三号</a> <span class="count">1</span>', page)
    assert link, page
    assert _rows(text(wang.get(link.group(1).replace("&amp;", "&")))) == [cases[3].receipt_no]
    filter_id = re.search(r"/inbox/filters/(\d+)/delete", page).group(1)
    post(wang, f"/inbox/filters/{filter_id}/delete")
    assert "三号" not in text(wang.get("/inbox"))
    assert health.receipt_no not in page


def test_saved_filters_are_per_user(site, signed_in):
    post(signed_in("wang.rev"), "/inbox/filters", {"name": "王的筛选", "colour": "red"})
    assert "王的筛选" not in text(signed_in("zhao.rev").get("/inbox"))


def test_refresh_returns_the_list_only_with_the_same_filters(site, signed_in):
    cases = [start_case(site, applicant_name=n) for n in ("甲公司", "乙公司")]
    for case in cases:
        accept_case(site, case)
    wang = signed_in("wang.rev")
    fragment = text(wang.get("/inbox?q=乙公司", headers={"X-Govflow-Partial": "inbox"}))
    assert "<html" not in fragment and "<table" in fragment
    assert _rows(fragment) == [cases[1].receipt_no]
    page = text(wang.get("/inbox"))
    assert 'id="inbox-live" data-refresh="60"' in page


def test_unknown_task_actions_are_404(site, signed_in):
    wang = signed_in("wang.rev")
    assert post(wang, "/tasks/does-not-exist/claim").status_code == 404
    assert wang.get("/tasks/does-not-exist").status_code == 404
