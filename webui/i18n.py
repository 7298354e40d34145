"""Languages of the pages: Chinese (zh_CN, the source text) by default, English from webui/translations.

The message catalogs are compiled (.po → .mo) when the app starts and a .mo is missing or older than its .po,
so a fresh `pip install -e .` followed by `govflow demo` shows English without a build step.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, session
from flask_babel import Babel

from engine.clock import LOCAL_TZ

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
TRANSLATIONS = Path(__file__).parent / "translations"

log = logging.getLogger(__name__)


def compile_catalogs(source: Path = TRANSLATIONS, target: Path | None = None) -> Path:
    """Compile every messages.po under `source` whose .mo is missing or stale; returns the directory to use.

    The .mo files go beside their .po; when the package directory is read-only they go to a temporary
    directory instead (the app then reads them from there)."""
    target = target or source
    for po_path in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
        except PermissionError:
            if target != source:
                raise
            return compile_catalogs(source, Path(tempfile.mkdtemp(prefix="govflow-translations-")))
    return target


def _locale() -> str:
    return session.get("lang") if session.get("lang") in LANGUAGES else DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    directory = compile_catalogs()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    # Flask-Babel's own date formatting, if ever used, must show the engine's zone, not a second one.
    app.config["BABEL_DEFAULT_TIMEZONE"] = LOCAL_TZ.key
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    Babel(app, locale_selector=_locale)

    @app.context_processor
    def languages():
        return {"languages": LANGUAGES, "current_lang": _locale(), "html_lang": _locale().replace("_", "-")}
