"""Browser test of the supervision console: Debian's chromium driven by Playwright.

A town supervisor opens a case waiting in review, sees the review task highlighted as active on the bpmn-js
diagram and the completed acceptance, steps the replay back to the start and forward again, and opens the
statistics page. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest
import supervision_world as world

from tests.browser_kit import ARGS, ARTIFACTS, CHROMIUM, needs_chromium, playwright_api, served
from tests.conftest import ROOT
from webui import create_app

BPMN_JS = ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-navigated-viewer.production.min.js"

pytestmark = needs_chromium


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
        context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 1000})
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("#username", "sup.a")
        page.fill("#password", world.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/inbox")
        yield page
        context.close()
        browser.close()


def _marked(page, element_id: str) -> list[str]:
    classes = page.get_attribute(f'#diagram .djs-element[data-element-id="{element_id}"]', "class") or ""
    return [c for c in classes.split() if c.startswith("state-")]


def test_supervisor_sees_the_review_task_active_on_the_diagram_and_replays_the_case(engine, clock, page, live_server):
    assert BPMN_JS.is_file(), "bpmn-js is not installed: run `npm install` in the repository root"
    case = world.start(engine, "town-a", applicant="示范县鑫源餐饮管理有限公司")
    world.complete(engine, case.id, "accept", "clerk.a", {"outcome": "accept"})
    clock.advance(hours=2)

    page.goto(f"{live_server}/supervision/")
    page.click(f"text={case.receipt_no}")
    page.wait_for_selector('#diagram[data-ready="1"][data-frame="now"]')
    page.wait_for_selector('#diagram .djs-element.state-active[data-element-id="review"]')
    assert _marked(page, "review") == ["state-active"]
    assert _marked(page, "accept") == ["state-completed"]
    page.screenshot(path=str(ARTIFACTS / "supervision-case-now.png"), full_page=True)

    page.click("#replay-first")
    page.wait_for_selector('#diagram[data-frame="1"]')
    assert _marked(page, "accept") == ["state-active"] and _marked(page, "review") == []
    assert "收件登记" in page.inner_text("#replay-label") and "case_started" not in page.inner_text("#replay-label")
    page.screenshot(path=str(ARTIFACTS / "supervision-replay-step-1.png"), full_page=True)

    page.click("#replay-next")
    page.wait_for_selector('#diagram[data-frame="2"]')
    assert _marked(page, "review") == ["state-active"] and _marked(page, "accept") == ["state-completed"]
    assert "办理完成" in page.inner_text("#replay-label")
    assert '"outcome": "accept"' in page.text_content("#replay-data")

    page.goto(f"{live_server}/supervision/statistics?from=2026-09-01&to=2026-09-30")
    assert page.locator("svg.chart").count() == 2
    page.screenshot(path=str(ARTIFACTS / "supervision-statistics.png"), full_page=True)
