"""Browser tests: Debian's chromium driven by Playwright against the app served on a free loopback port.

A clerk accepts an application and prints the receipt; a reviewer claims it and completes the review after a
validation error; the approver decides and the case completes; an AB backup acts for an absent colleague.
Screenshots go to test-artifacts/ (look at them: they are the pages as people see them).
"""

from __future__ import annotations

import re

import pytest

from tests.browser_kit import ARGS, ARTIFACTS, CHROMIUM, needs_chromium, playwright_api
from tests.web_helpers import PASSWORD, accept_case, open_task, start_case

pytest_plugins = ["tests.web_fixtures"]


pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def people(browser, live_server, request):
    """people("li.clerk") -> a signed-in page in a browser context of its own."""
    ARTIFACTS.mkdir(exist_ok=True)
    contexts = []

    def sign_in(username: str):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/inbox")
        return page

    yield sign_in
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_approval_accepted_reviewed_after_a_correction_approved_and_completed(site, people, live_server):
    # The window clerk registers the application and prints the receipt.
    clerk = people("li.clerk")
    clerk.click("text=窗口受理")
    clerk.click("tr:has-text('MKT-001') >> text=受理")
    clerk.check("input[name=applicant_kind][value=organisation]")
    clerk.fill("#applicant_name", "示范县鑫源餐饮管理有限公司")
    clerk.fill("#applicant_id_no", "91330100MA2XXXX01K")
    clerk.fill("#applicant_phone", "0571-88880000")
    for name in ("申请书", "营业执照", "场所平面图"):
        clerk.check(f"input[name=materials][value='{name}']")
    clerk.check("input[name=outcome][value=accept]")
    assert clerk.is_hidden("#competent_agency")  # only shown for a refusal
    shot(clerk, "01-accept-form")
    clerk.click("text=提交并打印")
    clerk.wait_for_url(re.compile(r".*/receipt$"))
    receipt_no = clerk.inner_text("#receipt-no")
    assert re.fullmatch(r"SCJG-20260918-\d{5}", receipt_no)
    assert "受理通知书" in clerk.inner_text("article")
    shot(clerk, "02-receipt")
    clerk.emulate_media(media="print")
    assert clerk.is_hidden("header.site-header") and clerk.is_hidden("[data-print]")
    clerk.pdf(path=str(ARTIFACTS / "02-receipt.pdf"))
    shot(clerk, "02-receipt-print")

    # The reviewer claims it, submits with a mistake, corrects it and completes.
    reviewer = people("wang.rev")
    row = reviewer.locator(f"tr:has-text('{receipt_no}')")
    assert "待签收" in row.inner_text()
    shot(reviewer, "03-inbox-reviewer")
    row.locator("button:text-is('签收')").click()
    reviewer.locator(f"tr:has-text('{receipt_no}') >> a:text-is('办理')").click()
    reviewer.check("input[name=conclusion][value=pass]")
    reviewer.fill("#in-site_visit", "2026-09-21")
    reviewer.fill("#in-score", "150")
    reviewer.fill("#in-inspectors-0-name", "王审查")
    reviewer.click("[data-add-row=table-inspectors]")
    assert reviewer.locator("#table-inspectors tbody tr").count() == 3
    reviewer.fill("#in-inspectors-2-name", "赵审查")
    reviewer.fill("#in-opinion", "材料齐全，现场核查符合条件。")
    reviewer.click("text=提交办理")
    assert reviewer.inner_text("#err-score") == "不得大于 100"
    assert reviewer.input_value("#in-opinion") == "材料齐全，现场核查符合条件。"
    assert reviewer.input_value("#in-inspectors-2-name") == "赵审查"
    shot(reviewer, "04-review-validation-error")
    reviewer.fill("#in-score", "92")
    reviewer.click("text=提交办理")
    reviewer.wait_for_url(f"{live_server}/inbox")
    assert f"已办理完成：审查（办件编号 {receipt_no}）" in reviewer.inner_text(".flashes")
    shot(reviewer, "05-review-done")

    # The approver decides; the case completes.
    approver = people("chen.app")
    approver.locator(f"tr:has-text('{receipt_no}') >> button:text-is('签收')").click()
    approver.locator(f"tr:has-text('{receipt_no}') >> a:text-is('办理')").click()
    assert "材料齐全，现场核查符合条件。" in approver.inner_text(".timeline")
    approver.check("input[name=decision][value=approve]")
    approver.fill("#in-opinion", "同意，准予许可。")
    shot(approver, "06-decide")
    approver.click("text=提交办理")
    approver.wait_for_url(f"{live_server}/inbox")
    case = site.runtime.get(receipt_no)
    assert case.status == "completed"
    opinions = [e.payload.get("opinion") for e in site.history.trail(case.id) if e.action == "task_completed"]
    assert opinions[-2:] == ["材料齐全，现场核查符合条件。", "同意，准予许可。"]


def test_ab_backup_completes_the_task_of_an_absent_colleague(site, people, live_server):
    case = start_case(site, applicant_name="示范县悦来宾馆")
    accept_case(site, case)
    task = open_task(site, case, "review")
    site.tasks.claim(task.id, actor=site.identity.actor("wang.rev"))
    site.identity.set_absent("wang.rev", "zhao.rev")
    backup = people("zhao.rev")
    assert "您正在代岗 王审查" in backup.inner_text(".cover-note")
    row = backup.locator(f"tr:has-text('{case.receipt_no}')")
    assert "王审查" in row.inner_text()
    shot(backup, "07-backup-inbox")
    row.locator("a:text-is('办理')").click()
    assert "您正在代 王审查 办理" in backup.inner_text("main")
    backup.check("input[name=conclusion][value=pass]")
    backup.fill("#in-site_visit", "2026-09-21")
    backup.fill("#in-score", "80")
    backup.fill("#in-inspectors-0-name", "赵审查")
    backup.fill("#in-opinion", "代王审查办理：符合条件。")
    backup.click("text=提交办理")
    backup.wait_for_url(f"{live_server}/inbox")
    event = [e for e in site.history.trail(case.id) if e.action == "task_completed"][-1]
    assert event.actor == "zhao.rev" and event.payload["on_behalf_of"] == "wang.rev"


def test_inbox_refreshes_in_place_keeping_filters(site, people, live_server, app):
    app.config["INBOX_REFRESH_SECONDS"] = 1
    first = start_case(site, applicant_name="甲公司")
    accept_case(site, first)
    reviewer = people("wang.rev")
    reviewer.fill("#f-q", "公司")
    reviewer.click("#filter-form button.primary")
    assert reviewer.locator(".inbox-table tbody tr").count() == 1
    second = start_case(site, applicant_name="乙公司")
    accept_case(site, second)
    reviewer.wait_for_selector(f"text={second.receipt_no}", timeout=5000)
    assert reviewer.url.endswith("q=%E5%85%AC%E5%8F%B8&sort=due") or "q=" in reviewer.url
    assert reviewer.input_value("#f-q") == "公司"
    shot(reviewer, "08-inbox-refreshed")


def test_one_time_notice_is_printable(site, people):
    clerk = people("li.clerk")
    clerk.goto(clerk.url.replace("/inbox", "/accept/MKT-001"))
    clerk.fill("#applicant_name", "王建国")
    clerk.fill("#applicant_id_no", "330102198001011234")
    clerk.fill("#applicant_phone", "13900000000")
    clerk.check("input[name=materials][value='申请书']")
    clerk.check("input[name=outcome][value=supplement]")
    clerk.click("text=提交并打印")
    clerk.wait_for_url(re.compile(r".*/notice$"))
    missing = clerk.inner_text("#missing-materials")
    assert "营业执照" in missing and "场所平面图" in missing and "申请书" not in missing
    shot(clerk, "09-one-time-notice")
