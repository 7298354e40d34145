"""Stage names: one home (engine.stages) for the alerts, the CLI, the exports and the pages, with English names
in the web's catalog."""

from __future__ import annotations

from babel.messages.pofile import read_po

from engine.stages import STAGE_NAMES, TASK_STAGES, keys_named, stage_label
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


def test_a_stage_is_found_by_the_name_a_person_reads_in_either_language_or_by_its_key():
    english = {"审查": "Review", "协办审查": "Co-department review"}
    elements = {"decide_on_spot": "当场作出决定", "co_review_task": "协办部门审查"}
    assert keys_named("审查") == ["review"] and keys_named(" 受理 ") == ["accept"]
    assert keys_named("review") == ["review"]  # the key itself, as the API and the CLI give it
    assert keys_named("co-department REVIEW", lambda name: english.get(name, name)) == ["co_review"]
    assert keys_named("当场作出决定", element_names=elements) == ["decide_on_spot"]
    # no name is the text itself: the names containing it
    assert set(keys_named("协办", element_names=elements)) == {"co_review", "co_review_task"}
    assert keys_named("办件总时限") == []  # the whole-case clock is no step a case stands at
    assert keys_named("无此环节") == [] and keys_named("  ") == []
