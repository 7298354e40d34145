"""Stage names: one home (engine.stages) for the alerts, the CLI, the exports and the pages, with English names
in the web's catalog."""

from __future__ import annotations

from babel.messages.pofile import read_po

from engine.stages import STAGE_NAMES, TASK_STAGES, stage_label
from tests.conftest import ROOT

EN = ROOT / "webui" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def test_a_stage_is_named_with_its_instance_and_several_in_turn():
    assert stage_label("accept") == "受理"
    assert stage_label("co_review:qx-wsjk") == "协办审查（qx-wsjk）"
    assert stage_label("review,co_review:qx-wsjk") == "审查、协办审查（qx-wsjk）"
    assert stage_label("unheard_of") == "unheard_of"
    assert "case" in STAGE_NAMES and "case" not in TASK_STAGES


def test_every_stage_name_has_its_english_name_in_the_web_catalog():
    with EN.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    english = {key: catalog.get(name).string if catalog.get(name) else "" for key, name in STAGE_NAMES.items()}
    assert all(english.values()), [key for key, text in english.items() if not text]
    assert stage_label("co_review:qx-wsjk", lambda name: catalog.get(name).string) == "Co-department review（qx-wsjk）"


def test_a_stage_run_per_department_is_named_by_the_department_and_an_undeclared_activity_by_its_element():
    names = {"qx-wsjk": "示范县卫生健康委员会"}.get
    assert stage_label("co_review:qx-wsjk", instance_name=names) == "协办审查（示范县卫生健康委员会）"
    elements = {"case_watch": "办理时限监控"}.get
    assert stage_label("case_watch,review", element_name=elements) == "办理时限监控、审查"
