"""Browser tests of the supervisor's long lists (Debian's chromium driven by Playwright): the case list (办件监控)
and the alerts board (预警督办) a page at a time, one line per row at a desk, scrolling inside the table on a
phone, and alerts acknowledged together with one note. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
import supervision_world as world

from tests.browser_kit import ARGS, ARTIFACTS, CHROMIUM, needs_chromium, playwright_api, served
from webui import create_app

pytestmark = needs_chromium
LONG_ITEM = "公众聚集场所投入使用、营业前消防安全检查"
DESK, PHONE = {"width": 1440, "height": 1000}, {"width": 390, "height": 844}


@pytest.fixture
def live_server(engine, tmp_path):
    world.build(engine)
    app = create_app(engine, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                              "INSTANCE_DIR": str(tmp_path)})  # fmt: skip
    with served(app) as url:
        yield url


@pytest.fixture
def page(live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(locale="zh-CN", viewport=DESK)
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("#username", "sup.a")
        page.fill("#password", world.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/inbox")
        yield page
        context.close()
        browser.close()


def _fits_the_phone(page) -> None:
    """Nothing wider than the screen: the page does not scroll sideways, the tables scroll inside their box."""
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("[...document.querySelectorAll('.table-scroll')].every(b => b.scrollWidth > b.clientWidth)")


def test_supervisor_reads_the_case_list_a_page_at_a_time_one_line_a_case_and_filters_by_the_stage_name(
    engine, page, live_server
):
    cases = [world.start(engine, "town-a", applicant=f"示范县鑫源餐饮管理有限公司第{n}分店", item_name=LONG_ITEM)
             for n in range(25)]  # fmt: skip
    for case in cases[:4]:
        world.complete(engine, case.id, "accept", "clerk.a", {"outcome": "accept"})
    page.goto(f"{live_server}/supervision/")
    rows = page.locator("#case-list tbody tr")
    assert rows.count() == 20 and "共 25 件 · 第 1 / 2 页" in page.inner_text("#case-count")
    heights = rows.evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 50, heights  # one line a case: no name wraps a character a line
    item = page.locator("#case-list tbody tr:first-child td:nth-child(2)")
    assert item.get_attribute("title") == LONG_ITEM
    assert item.evaluate("td => td.scrollWidth > td.clientWidth")  # cut with "…", the whole name on hover
    assert page.evaluate("document.documentElement.scrollHeight") < 2000
    page.screenshot(path=str(ARTIFACTS / "supervision-cases-1440.png"), full_page=True)

    page.fill("#f-stage", "审查")
    page.click("#case-list >> xpath=preceding::button[contains(@class, 'primary')][1]")
    page.wait_for_url("**stage=*")
    found = sorted(page.locator("#case-list tbody tr").evaluate_all("rows => rows.map(r => r.dataset.receipt)"))
    assert found == sorted(c.receipt_no for c in cases[:4])
    assert page.locator("#case-list tbody td:nth-child(5)").all_inner_texts() == ["审查"] * 4

    page.goto(f"{live_server}/supervision/?applicant=示范县")
    page.click("nav.pager >> text=下一页")
    page.wait_for_url("**page=2")
    page.wait_for_selector("#case-list")
    assert page.locator("#case-list tbody tr").count() == 5 and page.input_value("#f-applicant") == "示范县"
    _fits_the_phone(page)
    page.screenshot(path=str(ARTIFACTS / "supervision-cases-390.png"), full_page=True)


def _refused(engine, n: int) -> None:
    for _ in range(n):
        case = world.start(engine, "town-a")
        world.complete(engine, case.id, "accept", "clerk.a", {"outcome": "refuse"})  # no reason: a rule alert


def test_supervisor_acknowledges_the_ticked_alerts_of_a_page_with_one_note(engine, page, live_server):
    _refused(engine, 23)
    page.goto(f"{live_server}/supervision/alerts")
    assert page.locator("#alerts tbody tr").count() == 20
    assert "共 23 条预警 · 第 1 / 2 页" in page.inner_text("#alert-count")
    page.screenshot(path=str(ARTIFACTS / "supervision-alerts-1440.png"), full_page=True)
    page.check("input[data-select-all]")
    boxes = page.locator("#alerts input[type=checkbox][name=alert_id]")
    assert boxes.count() == 20 and all(boxes.nth(i).is_checked() for i in range(20))
    boxes.nth(0).uncheck()
    page.fill("#bulk-note", "已电话提醒经办人，限期补正理由")
    page.click("#bulk-ack button")
    page.wait_for_selector(".flash-success")
    assert "已处理 19 条预警" in page.inner_text(".flash-success")
    assert page.locator("#alerts tbody tr").count() == 4 and "共 4 条预警" in page.inner_text("#alert-count")
    page.goto(f"{live_server}/supervision/alerts?closed=1")
    assert page.locator("#alerts tbody tr", has_text="已电话提醒经办人，限期补正理由").count() == 19
    page.goto(f"{live_server}/supervision/alerts")
    _fits_the_phone(page)
    page.screenshot(path=str(ARTIFACTS / "supervision-alerts-390.png"), full_page=True)
