"""The pages' English catalog: every message of every web module and template (as webui/babel.cfg extracts them)
has its English text, with the same placeholders."""

from __future__ import annotations

import re

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.conftest import ROOT
from webui.case_view import ENGINE_NAMES

EN = ROOT / "webui" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _extracted() -> dict[str, str]:
    """msgid → the file it comes from, by the extraction the catalog is made with (webui/babel.cfg)."""
    with (ROOT / "webui" / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, filename)
    return found


def test_every_message_of_the_pages_has_its_english_text_with_the_same_placeholders():
    with EN.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    extracted = _extracted()
    assert len(extracted) > 300 and any(f.startswith("webui/templates/supervision/") for f in extracted.values())
    missing = [f"{where}: {msgid}" for msgid, where in extracted.items()
               if not catalog.get(msgid) or not catalog.get(msgid).string]  # fmt: skip
    assert not missing, "messages without English:\n" + "\n".join(missing)
    mismatched = [
        msgid
        for msgid in extracted
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(catalog.get(msgid).string))
    ]
    assert not mismatched, mismatched


def test_every_name_the_engine_keeps_in_chinese_has_its_english_name_in_the_web_catalog():
    """Roles, alert kinds, rules, faults, measures, clock-stop reasons and stages are named by the engine in Chinese;
    the pages translate them through the catalog (webui/case_view.ENGINE_NAMES)."""
    with EN.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    missing = [name for name in ENGINE_NAMES if not catalog.get(name) or not catalog.get(name).string]
    assert not missing, missing
