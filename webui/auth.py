"""Signing in and out (Flask-Login over engine.identity), the lockout message and the language switch."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user

from engine.errors import GovflowError, NotFound
from engine.identity import AccountLocked, AuthenticationFailed
from webui.context import engine, local_time, safe_next
from webui.i18n import LANGUAGES

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class WebUser(UserMixin):
    """The identity service's User as Flask-Login wants it; the id is the user name."""

    def __init__(self, user):
        self.user = user
        self.username = user.username
        self.display_name = user.display_name or user.username
        self.department = user.department
        self.roles = tuple(user.roles)

    def get_id(self) -> str:
        return self.username


@login_manager.user_loader
def _load_user(username: str):
    try:
        return WebUser(engine().identity.get_user(username))
    except (NotFound, GovflowError):
        return None  # a removed account ends its sessions


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("请先登录。")
    login_manager.login_message_category = "info"
    # A session cookie replayed from another browser or address is dropped.
    login_manager.session_protection = "strong"
    login_manager.init_app(app)

    @app.context_processor
    def who():
        if not current_user.is_authenticated:
            return {"covers": []}
        try:
            covers = engine().identity.acting_for(current_user.username)
        except GovflowError:
            covers = []
        return {"covers": covers}


def _lockout_message(exc: Exception) -> str:
    until = getattr(exc, "until", None)
    if until is not None:
        return _("登录失败次数过多，账户已锁定至 %(until)s，请稍后再试或联系管理员。", until=local_time(until))
    return _("登录失败次数过多，账户已暂时锁定，请稍后再试或联系管理员。") + " (" + str(exc) + ")"


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.values.get("next"), url_for("inbox.index"))
    if current_user.is_authenticated:
        return redirect(target)
    username = ""
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        try:
            user = engine().identity.authenticate(username, password)
        except AccountLocked as exc:
            flash(_lockout_message(exc), "error")
            status = 403
        except AuthenticationFailed:
            flash(_("用户名或密码不正确。"), "error")
            status = 401
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session at sign-in: nothing carried over from before (fixation)
            if lang:
                session["lang"] = lang
            login_user(WebUser(user))
            return redirect(target)
    return render_template("login.html", username=username, next=request.values.get("next", "")), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))
