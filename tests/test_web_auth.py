"""Signing in and out, the lockout, the language switch, cookies and headers of the pages."""

from __future__ import annotations

from tests.web_helpers import PASSWORD, csrf_token, login, post, text

pytest_plugins = ["tests.web_fixtures"]


def test_pages_need_a_signed_in_user(app):
    client = app.test_client()
    for path in ("/inbox", "/accept/", "/tasks/nope"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.location.startswith("/login")


def test_sign_in_and_out(app):
    client = app.test_client()
    response = login(client, "wang.rev")
    assert response.status_code == 302 and response.location == "/inbox"
    page = text(client.get("/inbox"))
    assert "王审查" in page and "我的待办" in page
    response = post(client, "/logout")
    assert response.status_code == 302
    assert client.get("/inbox").status_code == 302


def test_wrong_password_says_nothing_about_which_part(app):
    client = app.test_client()
    for username in ("wang.rev", "nobody"):
        response = login(client, username, "wrong-password")
        assert response.status_code == 401
        assert "用户名或密码不正确" in text(response)


def test_lockout_after_five_failures_names_the_time(app):
    client = app.test_client()
    for _ in range(5):
        assert login(client, "zhao.rev", "wrong-password").status_code == 401
    response = login(client, "zhao.rev", PASSWORD)  # even the right password is refused now
    assert response.status_code == 403
    assert "账户已锁定至 2026-09-18 09:15" in text(response)


def test_sign_in_without_csrf_token_is_refused(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "wang.rev", "password": PASSWORD})
    assert response.status_code == 400
    assert "安全校验未通过" in text(response)
    assert client.get("/inbox").status_code == 302


def test_next_never_leaves_the_site(app):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login?next=https://evil.example/x", data={"username": "wang.rev", "password": PASSWORD, "csrf_token": token}
    )
    assert response.location == "/inbox"


def test_language_switch_to_english_and_back(signed_in):
    client = signed_in("wang.rev")
    post(client, "/language", {"lang": "en", "next": "/inbox"})
    page = text(client.get("/inbox"))
    assert "My tasks" in page and 'lang="en"' in page
    post(client, "/language", {"lang": "zh_CN"})
    assert "我的待办" in text(client.get("/inbox"))


def test_session_cookie_and_security_headers(app):
    client = app.test_client()
    response = login(client, "wang.rev")
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and "govflow_session" in v)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/inbox")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"


def test_secure_cookie_by_default(site, tmp_path):
    from webui import create_app

    app = create_app(site, {"SECRET_KEY": "x", "INSTANCE_DIR": str(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] is True
