"""The 办件查询 page: a clerk finds their department's cases by receipt number, applicant or item name, sees the
stage and status by name, and never a case of another department; the page is linked from every page's menu."""

from __future__ import annotations

import re

from tests.web_helpers import accept_case, post, start_case, text

pytest_plugins = ["tests.web_fixtures"]


def _receipts(html: str) -> list[str]:
    return re.findall(r'<tr data-receipt="([^"]+)"', html)


def test_a_clerk_finds_a_case_of_their_department_and_sees_where_it_stands(site, signed_in):
    food = start_case(site, applicant_name="示范县鑫源餐饮管理有限公司")
    accept_case(site, food)
    health = site.catalog.apply("HLT-001", {"kind": "organisation", "name": "示范县悦来宾馆", "phone": "13900000001"},
                                {"materials": ["卫生许可申请表"]}, actor="he.clerk")  # fmt: skip
    client = signed_in("li.clerk")
    inbox = text(client.get("/inbox"))
    assert 'href="/cases"' in inbox and "办件查询" in inbox
    page = text(client.get("/cases", query_string={"text": "鑫源"}))
    assert _receipts(page) == [food.receipt_no]
    row = page[page.index(f'data-receipt="{food.receipt_no}"'):].split("</tr>")[0]
    assert "审查" in row and "办理中" in row and "running" not in row and "review" not in row
    assert f'/cases/{food.id}/receipt' in row  # a clerk opens the case's receipt; a supervisor its case page
    assert _receipts(text(client.get("/cases", query_string={"text": food.receipt_no[:6].lower()}))) == [food.receipt_no]
    assert _receipts(text(client.get("/cases", query_string={"text": "悦来"}))) == []  # another department's
    assert "没有找到办件" in text(client.get("/cases", query_string={"text": "悦来"}))
    assert _receipts(text(signed_in("he.clerk").get("/cases"))) == [health.receipt_no]
    post(client, "/language", {"lang": "en"})
    english = text(client.get("/cases", query_string={"text": "鑫源"}))
    assert "Find a case" in english and _receipts(english) == [food.receipt_no]
    labels = re.sub(r'value="[^"]*"', "", english.split("<tbody>")[0].split("</header>")[-1])  # not what was typed
    assert not re.search(r"[\u4e00-\u9fff]", labels), labels  # the page's own words in English


def test_a_bad_page_number_is_a_clear_error_not_a_crash(site, signed_in):
    response = signed_in("li.clerk").get("/cases", query_string={"page": "x"})
    assert response.status_code == 422 and "page" in text(response)
