"""The public side, no sign-in: 进度查询 by receipt number and check code (issue 15 item 3).

What a member of the public sees is engine.public_status's, for the page and the public API alike. Lookups are
rate-limited per client address (Flask-Limiter; `PUBLIC_LOOKUP_LIMIT`, default 10 a minute; in memory by
default, `RATELIMIT_STORAGE_URI` for a store shared by several web workers), and a wrong code answers exactly as
an unknown number does.
"""

from __future__ import annotations

import segno
from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from engine import public_status
from webui.context import engine

bp = Blueprint("public", __name__)
limiter = Limiter(get_remote_address, default_limits=[])


def _asked() -> bool:
    source = request.form if request.method == "POST" else request.args
    return bool(source.get("receipt_no") or source.get("code"))


def lookup_limit() -> str:
    return current_app.config.get("PUBLIC_LOOKUP_LIMIT", "10 per minute")


# Shared by the page and the public API: the same budget of lookups per client address.
limited = limiter.shared_limit(lookup_limit, scope="public-lookup", exempt_when=lambda: not _asked())


def init_app(app) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    app.add_template_global(status_link, "status_link")
    app.add_template_global(qr_data_uri, "qr_data_uri")


@bp.route("/status", methods=["GET", "POST"])
@limited
def status():
    """The lookup form; with a receipt number and a check code (typed, or from the receipt's QR code) the case's
    public status, or one answer for every number and code that do not match."""
    source = request.form if request.method == "POST" else request.args
    receipt_no, code = (source.get("receipt_no") or "").strip(), (source.get("code") or "").strip()
    view = public_status.look_up(engine(), receipt_no, code) if receipt_no or code else None
    return render_template("public_status.html", receipt_no=receipt_no, code=code, view=view,
                           asked=bool(receipt_no or code))  # fmt: skip


def too_many(exc):
    """429: the answer to a client that looked up too often."""
    if request.path.startswith("/api/"):
        return {"error": "too many lookups from this address; try again in a minute"}, 429
    return render_template("error.html", title=_("查询过于频繁"),
                           message=_("查询次数过多，请一分钟后再试。")), 429  # fmt: skip


def status_link(receipt_no: str, code: str | None) -> str:
    """The address of the case's public status, as the receipt's QR code carries it."""
    return url_for("public.status", receipt_no=receipt_no, code=code or "", _external=True)


def qr_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data URI (the pages' CSP admits data: images, no script)."""
    return segno.make(text, error="m").svg_data_uri(scale=3, border=2)
