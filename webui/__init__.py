"""The govflow web app: Flask application factory.

The pages are thin: each view parses the request, calls one engine service and renders the result. Every rule
(who may act on a task, how a deadline moves) lives in engine/. This module wires the extensions: Flask-Login,
Flask-WTF's CSRF protection on every form, Flask-Babel (zh_CN by default, English available), secure cookies
and response headers that keep the pages free of foreign scripts.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from engine.errors import GovflowError
from engine.process_engine import ProcessEngine
from webui import auth, context, i18n, public
from webui.accept import bp as accept_bp
from webui.auth import bp as auth_bp
from webui.case_search import bp as case_search_bp
from webui.inbox import bp as inbox_bp
from webui.notifications import bp as notifications_bp
from webui.reasons import said
from webui.supervision_board import register as register_supervision
from webui.tasks import bp as tasks_bp

csrf = CSRFProtect()

# Pages may load only their own stylesheet and script: no CDN, no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _secret_key(instance: Path) -> str:
    """A key from the environment, else one generated once and kept beside the database (var/)."""
    if os.environ.get("GOVFLOW_SECRET_KEY"):
        return os.environ["GOVFLOW_SECRET_KEY"]
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key)
        return key


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def create_app(engine=None, config: dict | None = None) -> Flask:
    """Build the app around a process engine (created from GOVFLOW_DATABASE_URL when not given)."""
    app = Flask(__name__)
    config = dict(config or {})
    app.config.update(
        SESSION_COOKIE_NAME="govflow_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Secure by default; `govflow serve` on a loopback address turns it off for plain http.
        SESSION_COOKIE_SECURE=_env_flag("GOVFLOW_COOKIE_SECURE", True),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=10),
        MAX_CONTENT_LENGTH=21 * 1024 * 1024,  # the attachment store refuses > 20 MB with a message of its own
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session: a clerk's form may stay open all day
        INBOX_PER_PAGE=20,
        INBOX_REFRESH_SECONDS=60,
    )
    app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.config.get("INSTANCE_DIR", "var")))
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    if engine is None:
        engine = ProcessEngine(app.config.get("DATABASE_URL"))
    app.extensions["govflow"] = engine

    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    context.init_app(app)
    _register_blueprints(app)
    _register_handlers(app)

    @app.get("/")
    def index():
        return redirect(url_for("inbox.index"))

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def _register_blueprints(app: Flask) -> None:
    public.init_app(app)
    for bp in (auth_bp, inbox_bp, tasks_bp, accept_bp, notifications_bp, case_search_bp, public.bp):
        app.register_blueprint(bp)
    register_supervision(app)  # the supervision console (issue #6)
    try:
        from webui.api import bp as api_bp  # lazy: the JSON API is optional, an install without it serves the pages
    except ImportError as exc:
        if exc.name != "webui.api":  # a broken API module must show, not hide
            raise
    else:
        app.register_blueprint(api_bp, url_prefix="/api/v1")
        # The API authenticates by bearer token, not by session cookie: CSRF does not apply to it.
        csrf.exempt(api_bp)


def _register_handlers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint and not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(exc):
        return render_template("error.html", title=_("请求已过期"), message=_(
            "表单安全校验未通过（页面可能已过期）。请返回并刷新页面后重试。"
        )), 400  # fmt: skip

    @app.errorhandler(GovflowError)
    def service_error(exc):
        if request.path.startswith("/api/"):
            return {"error": str(exc)}, exc.http_status
        return render_template("error.html", title=_("无法完成操作"), message=said(exc)), exc.http_status

    @app.errorhandler(403)
    def forbidden(exc):
        return render_template("error.html", title=_("无权访问"), message=_("您没有权限查看此页面。")), 403

    @app.errorhandler(404)
    def not_found(exc):
        if request.path.startswith("/api/"):
            return {"error": "not found"}, 404
        return render_template("error.html", title=_("页面不存在"), message=_("您访问的页面不存在。")), 404

    app.register_error_handler(429, public.too_many)

    @app.errorhandler(413)
    def too_large(exc):
        if request.path.startswith("/api/"):
            return {"error": "request larger than 20 MB"}, 413
        return render_template("error.html", title=_("文件过大"), message=_("上传的文件超过 20 MB，未保存。")), 413
