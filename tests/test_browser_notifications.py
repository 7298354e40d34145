"""Browser test of 我的通知: Debian's chromium driven by Playwright. A reviewer named by escalation alerts sees the
unread count beside the nav link, opens the page, marks one read, switches to English. Screenshots go to test-artifacts/."""

from __future__ import annotations

from tests.browser_kit import ARGS, ARTIFACTS, CHROMIUM, needs_chromium, playwright_api
from tests.test_web_notifications import escalate
from tests.web_helpers import PASSWORD

pytest_plugins = ["tests.web_fixtures"]


pytestmark = needs_chromium


def test_reviewer_reads_the_warnings_addressed_to_him_and_his_post(site, clock, live_server):
    held, _offered, review = escalate(site, clock)
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900}).new_page()
        page.goto(f"{live_server}/login")
        page.fill("#username", "wang.rev")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/inbox")
        assert page.inner_text("#nav-unread") == "6"
        page.click("nav.main-nav >> text=我的通知")
        page.wait_for_url(f"{live_server}/notifications")
        assert page.locator("tr.unread").count() == 6
        assert page.get_attribute(f"a:text-is('{held.receipt_no}') >> nth=0", "href") == f"/tasks/{review.id}"
        page.screenshot(path=str(ARTIFACTS / "notifications.png"), full_page=True)
        page.locator("tr.unread >> nth=0 >> button:text-is('标为已读')").click()
        page.wait_for_load_state()
        assert page.inner_text("#nav-unread") == "5" and page.locator("tr.read").count() == 1
        page.screenshot(path=str(ARTIFACTS / "notifications-one-read.png"), full_page=True)
        page.click("button:text-is('English')")
        page.wait_for_selector("h1:text-is('My notifications')")
        page.screenshot(path=str(ARTIFACTS / "notifications-en.png"), full_page=True)
        browser.close()
