"""Browser test: no engine code on the alerts board and a case's history (its replay label drawn by the page's
script included), in Chinese and English, at desk (1440 px) and phone (390 px) width, as the demo's supervisor
sees them. The texts are judged by the page walk's rules (tests/test_web_no_codes.py). Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests import demo_world
from tests.browser_kit import ARGS, ARTIFACTS, CHROMIUM, needs_chromium, playwright_api, served
from tests.test_web_no_codes import chinese_labels, data_parts, findings, known_codes, world_data
from webui import create_app

pytestmark = needs_chromium
WIDTHS = (1440, 390)


@pytest.fixture
def demo_server(engine, tmp_path):
    demo_world.build(engine, tmp_path)
    app = create_app(engine, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                              "INSTANCE_DIR": str(tmp_path)})  # fmt: skip
    with served(app) as url:
        yield url


def _lettered_case(engine) -> str:
    """The receipt number of a case whose alert got a supervision letter (its history has the most to show)."""
    supervisor = engine.identity.get_user(demo_world.PEOPLE["supervisor"])
    alerts = engine.supervision.alerts(engine.supervision.scope(supervisor))
    return next(a["receipt_no"] for a in alerts if a["letters"])


def _texts(page, selector: str = "main") -> list[str]:
    return [t.strip() for t in re.split(r"[\n\t]+", page.inner_text(selector)) if t.strip()]


def test_no_code_on_the_alerts_board_and_a_case_history_in_either_language(engine, demo_server):
    words, identifiers = known_codes(engine)
    data = world_data(engine)
    labels, data = chinese_labels(data), data_parts(data)
    receipt = _lettered_case(engine)
    ARTIFACTS.mkdir(exist_ok=True)
    found: dict[str, set[str]] = {}
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        for width in WIDTHS:
            context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(f"{demo_server}/login")
            page.fill("#username", demo_world.PEOPLE["supervisor"])
            page.fill("#password", demo_world.PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{demo_server}/inbox")
            for lang in ("zh", "en"):
                if lang == "en":
                    page.click("button:text-is('English')")
                    page.wait_for_selector("html[lang=en]")
                page.goto(f"{demo_server}/supervision/alerts")
                assert page.locator("#alerts tbody tr[data-kind]").count() > 0
                # the board's head and first rows (the whole board is many screens long)
                page.screenshot(path=str(ARTIFACTS / f"no-codes-alerts-{lang}-{width}.png"), full_page=True,
                                clip={"x": 0, "y": 0, "width": width, "height": 2000})  # fmt: skip
                texts = _texts(page)
                page.goto(f"{demo_server}/supervision/cases/{receipt}")
                page.wait_for_selector('#diagram[data-ready="1"][data-frame="now"]')
                page.click("#replay-first")
                page.wait_for_selector('#diagram[data-frame="1"]')
                page.locator("#trail").scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / f"no-codes-case-{lang}-{width}.png"), full_page=True)
                texts += _texts(page, "#trail") + _texts(page, "#replay-label") + _texts(page, "#limits")
                assert _texts(page, "#trail") and _texts(page, "#replay-label")
                for finding in findings(texts, lang, words, identifiers, labels, data):
                    found.setdefault(finding, set()).add(f"{lang} {width}px")
            context.close()
        browser.close()
    assert not found, "\n".join(f"{f}  ({', '.join(sorted(w))})" for f, w in sorted(found.items()))
