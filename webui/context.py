"""What every page needs: the engine, the signed-in user's Actor, safe redirects and the template filters."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from babel.dates import get_timezone_name
from flask import Flask, current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from engine import local_time as wall_clock
from engine.clock import LOCAL_TZ
from webui import case_view

COLOURS = ("green", "yellow", "red", "red_plus")


def engine():
    """The ProcessEngine the app was built around."""
    return current_app.extensions["govflow"]


def current_actor():
    """The signed-in user as an Actor: own groups plus the groups of absent colleagues covered (AB岗)."""
    return engine().identity.actor(current_user.username)


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never redirect to an address given by someone else."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def colour_label(colour: str | None) -> str:
    return {
        "green": _("正常"),
        "yellow": _("预警"),
        "red": _("超期"),
        "red_plus": _("超期督办"),
    }.get(colour or "", _("未计时"))


def local_time(value, fmt: str = wall_clock.MINUTES) -> str:
    """The `local_time` filter: a stored instant (or ISO string) on the service centre's wall clock."""
    return wall_clock.shown(value, fmt)


def zone_note() -> str:
    """The footer's word on which clock the page's times are on, in the page's language (CLDR's zone name)."""
    now = datetime.now(LOCAL_TZ)
    name = get_timezone_name(now, locale=str(get_locale() or "zh_CN"))
    return _("页面时间均为%(zone)s（UTC%(offset)s）", zone=name, offset=wall_clock.offset_text(now))


def badge(colour: str | None, days_left=None, provisional: bool = False, stopped: bool = False) -> Markup:
    """The coloured time-limit badge: colour word, working days left, 'provisional' when the calendar does not
    cover the due date yet, and 'clock stopped' while the clock stands still (colour and days as at the stop)."""
    colour = colour if colour in COLOURS else "none"
    text = str(escape(colour_label(colour)))
    if days_left is not None:
        if days_left >= 0:
            text += " · " + str(escape(_("剩 %(n)s 个工作日", n=days_left)))
        else:
            text += " · " + str(escape(_("超 %(n)s 个工作日", n=-days_left)))
    if provisional:
        text += " · " + str(escape(_("暂定")))
    if stopped:
        text += " · " + str(escape(_("计时暂停中")))
    return Markup(f'<span class="badge badge-{colour}">{text}</span>')


def limit_text(limit: str | None) -> str:
    """'20wd' as 20 个工作日, '60d' as 60 日."""
    text = str(limit or "").strip()
    if text.endswith("wd") and text[:-2].isdigit():
        return _("%(n)s 个工作日", n=int(text[:-2]))
    if text.endswith("d") and text[:-1].isdigit():
        return _("%(n)s 日", n=int(text[:-1]))
    return text or "—"


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(limit_text, "limit_text")
    app.add_template_filter(case_view.stage_label, "stage_name")
    app.add_template_global(badge, "badge")
    app.add_template_global(colour_label, "colour_label")
    app.add_template_global(zone_note, "zone_note")
    app.add_template_filter(lambda d, key: {k: v for k, v in d.items() if k != key}, "dict_without")
    app.jinja_env.add_extension("jinja2.ext.do")
    app.context_processor(lambda: {"has_supervision": "supervision.cases" in app.view_functions})
    app.jinja_env.autoescape = True
