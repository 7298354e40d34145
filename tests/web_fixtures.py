"""Fixtures of the web page tests: a small organisation (market supervision and health), a catalog over the
test procedure tests/fixtures/web_approval.bpmn, the app and signed-in test clients."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tests.conftest import FIXTURES
from tests.web_helpers import PASSWORD, login
from webui import create_app

USERS = {
    # username: (department, roles, display name)
    "li.clerk": ("market", ("clerk",), "李窗口"),
    "wang.rev": ("market", ("reviewer",), "王审查"),
    "zhao.rev": ("market", ("reviewer",), "赵审查"),
    "chen.app": ("market", ("approver",), "陈首席"),
    "he.rev": ("health", ("reviewer",), "何卫健"),
    "he.clerk": ("health", ("clerk",), "何窗口"),
}
CATALOG = """
[[item]]
code = "MKT-001"
name = "食品经营许可"
kind = "license"
department = "market"
legal_basis = "《中华人民共和国食品安全法》第三十五条"
conditions = ["有经营场所"]
handling = "promised"
statutory_limit = "20wd"
promised_limit = "10wd"
process = "web_approval"
receipt_prefix = "SCJG"

[[item.materials]]
name = "申请书"
required = true

[[item.materials]]
name = "营业执照"
required = true
form = "复印件"

[[item.materials]]
name = "场所平面图"
required = true

[[item.materials]]
name = "授权委托书"
required = false

[[item]]
code = "MKT-002"
name = "食品经营许可变更（即办）"
kind = "license"
department = "market"
legal_basis = "《食品经营许可和备案管理办法》"
handling = "instant"
statutory_limit = "20wd"
promised_limit = "1wd"
process = "web_approval"

[[item.materials]]
name = "变更申请书"
required = true

[[item]]
code = "HLT-001"
name = "公共场所卫生许可"
kind = "license"
department = "health"
legal_basis = "《公共场所卫生管理条例》第八条"
handling = "promised"
statutory_limit = "20wd"
promised_limit = "8wd"
process = "web_approval"

[[item.materials]]
name = "卫生许可申请表"
required = true
"""


@pytest.fixture
def site(engine, tmp_path):
    """The engine with departments, users, the test procedure and catalog, files under tmp_path."""
    engine.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine.attachments.root = tmp_path / "files"
    engine.identity.add_department("county", "示范县人民政府", "county")
    engine.identity.add_department("market", "示范县市场监督管理局", "county", parent="county")
    engine.identity.add_department("health", "示范县卫生健康委员会", "county", parent="county")
    for username, (department, roles, name) in USERS.items():
        engine.identity.add_user(username, PASSWORD, department, roles, name)
    engine.repository.deploy_file(FIXTURES / "web_approval.bpmn", "designer")
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG, encoding="utf-8")
    engine.catalog.load(catalog)
    return engine


@pytest.fixture
def app(site, tmp_path):
    return create_app(site, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                             "INSTANCE_DIR": str(tmp_path), "INBOX_PER_PAGE": 20})  # fmt: skip


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port while the test runs (for the browser tests); its base URL."""
    from tests.browser_kit import served

    with served(app) as url:
        yield url


@pytest.fixture
def signed_in(app):
    """signed_in("wang.rev") -> a test client with that user's session."""

    def make(username: str):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
