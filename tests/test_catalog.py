"""The service-item catalog: the published file loads, bad items are refused with a clear message, cases start
from items with the catalog's limits, materials and a readable receipt number; every diagram lints clean."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from engine.catalog import CatalogError, load_catalog
from engine.cli import main
from engine.errors import InvalidData, NotFound
from engine.lint import lint_file
from tests.procedures_kit import COMPANY, FORMS, PROCESSES, apply, procedures_fixture  # noqa: F401 - fixture

CATALOG = PROCESSES / "catalog.toml"


def test_every_process_file_lints_clean():
    files = sorted(PROCESSES.glob("*.bpmn"))
    assert {f.stem for f in files} >= {"approval", "enforcement_case"}
    for path in files:
        assert [f.format() for f in lint_file(path, FORMS)] == []


def test_every_process_has_full_diagram_interchange():
    from lxml import etree

    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}  # fmt: skip
    for path in sorted(PROCESSES.glob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        drawn = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNPlane/*", ns)}
        process = root.find("bpmn:process", ns)
        elements = {el.get("id") for el in process.iter() if el.get("id") and etree.QName(el).localname not in (
            "process", "laneSet", "documentation", "extensionElements", "conditionExpression", "script",
            "timerEventDefinition", "messageEventDefinition", "signalEventDefinition", "timeDate", "timeCycle",
            "multiInstanceLoopCharacteristics", "terminateEventDefinition")}  # fmt: skip
        assert elements - drawn == set(), path.name
        for edge in root.iterfind(".//bpmndi:BPMNEdge", ns):
            assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2
        flow_nodes = {"Task", "Event", "Gateway", "subProcess"}
        names = [
            el.get("name") for el in process.iter() if any(etree.QName(el).localname.endswith(k) for k in flow_nodes)
        ]
        assert all(n and any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names), path.name  # labelled in Chinese


def test_catalog_loads_with_at_least_twelve_items_across_six_departments():
    items = load_catalog(CATALOG)
    assert len(items) >= 12
    assert len({i.department for i in items}) >= 6
    kinds = [i.kind for i in items]
    assert kinds.count("penalty") >= 2 and kinds.count("review_appeal") >= 1
    by_code = {i.code: i for i in items}
    assert by_code["SCJG-DJ-001"].handling == "instant"
    joint = by_code["ZRZY-XK-001"]
    assert joint.process == "joint_review" and set(joint.co_departments) == {"qx-xf", "qx-sthj", "qx-zjj"}
    for item in items:
        assert item.materials and item.legal_basis and item.limit_basis


def _edited(tmp_path, old: str, new: str):
    shutil.copy(PROCESSES / "departments.toml", tmp_path / "departments.toml")
    text = CATALOG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalog.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_promised_limit_over_the_statutory_one_is_refused(tmp_path):
    path = _edited(tmp_path, 'promised_limit = "10wd"', 'promised_limit = "25wd"')
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    assert str(err.value) == (
        "catalog.toml: item SCJG-XK-001: promised_limit: the promised limit 25wd exceeds the "
        "statutory limit 20wd; a service centre may only promise less time than the law allows"
    )


@pytest.mark.parametrize(("old", "new", "message"), [
    ('review = { statutory = "14wd", promised = "6wd" }', 'review = { statutory = "14wd", promised = "16wd" }',
     "item SCJG-XK-001: stage_limits.review.promised: the promised limit 16wd exceeds the statutory limit 14wd"),
    ('statutory_limit = "90d"', 'statutory_limit = "90wd"', "use different units"),
    ('department = "qx-wsjk"', 'department = "qx-nowhere"', "item WSJK-XK-001: department: department 'qx-nowhere' "
                                                            "is not in departments.toml"),
    ('handling = "instant"', 'handling = "soon"', "item SCJG-DJ-001: handling: 'soon' must be one of instant, promised"),
    ('clock_stops = ["testing", "inspection"]', 'clock_stops = ["lunch"]', "'lunch' is not a clock-stop reason"),
    ('no_reply_consent = true', 'no_reply_consent = true\nreply_within = 3', "reply_within: unknown field"),
])  # fmt: skip
def test_bad_items_are_refused_naming_item_field_and_reason(tmp_path, old, new, message):
    with pytest.raises(CatalogError, match=message):
        load_catalog(_edited(tmp_path, old, new))


def test_apply_fills_the_case_from_the_item(procedures, clock):
    engine = procedures
    case = apply(engine, "SCJG-XK-001", provided=["食品经营许可申请书"], note="首次申请")
    assert case.receipt_no == "QXSCJG-20260918-00001"
    second = apply(engine, "SCJG-DJ-001")
    assert second.receipt_no == "QXSCJG-20260918-00002"  # one sequence per department and day
    data = engine.runtime.describe(case.id)["data"]
    assert data["item_code"] == "SCJG-XK-001" and data["item_name"] == "食品经营许可"
    assert data["department"] == "qx-scjg" and data["applicant"]["kind"] == "organisation"
    assert data["limits"]["case"] == {"statutory": "20wd", "promised": "10wd",
                                      "basis": "《中华人民共和国行政许可法》第四十二条"}  # fmt: skip
    assert data["limits"]["review"]["promised"] == "6wd"
    assert [m["provided"] for m in data["materials"]] == [True, False, False, False, False]
    assert len(data["missing_materials"]) == 3 and data["fee"] is None and data["note"] == "首次申请"


def test_apply_refuses_bad_input(procedures):
    engine = procedures
    with pytest.raises(NotFound, match="item NOPE-1 is not in the catalog"):
        engine.catalog.apply("NOPE-1", COMPANY, {}, actor="x")
    with pytest.raises(InvalidData, match="applicant.name is required"):
        engine.catalog.apply("SCJG-XK-001", {"kind": "person"}, {}, actor="x")
    with pytest.raises(InvalidData, match="data field 'limits' is filled from the catalog item"):
        engine.catalog.apply("SCJG-XK-001", COMPANY, {"limits": {}}, actor="x")
    with pytest.raises(InvalidData, match="asks for no material named '身份证'"):
        engine.catalog.apply("SCJG-XK-001", COMPANY, {"materials": ["身份证"]}, actor="x")


def test_reloading_unpublishes_items_left_out(procedures, tmp_path):
    engine = procedures
    shutil.copy(PROCESSES / "departments.toml", tmp_path / "departments.toml")
    text = CATALOG.read_text(encoding="utf-8")
    first_item_end = text.index("[[item]]", text.index("[[item]]") + 1)
    (tmp_path / "catalog.toml").write_text(text[first_item_end:], encoding="utf-8")
    engine.catalog.load(tmp_path / "catalog.toml")
    assert "SCJG-XK-001" not in [i.code for i in engine.catalog.list()]
    with pytest.raises(NotFound, match="no longer published"):
        engine.catalog.get("SCJG-XK-001")
    assert [i.code for i in engine.catalog.list("qx-wsjk")] == ["WSJK-XK-001"]


def test_cli_catalog_load_list_and_apply(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    base = ["--db", db, "--forms", str(FORMS)]
    assert runner.invoke(main, [*base, "init"]).exit_code == 0
    result = runner.invoke(main, [*base, "catalog", "load", str(CATALOG)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("loaded ")
    listed = json.loads(runner.invoke(main, [*base, "catalog", "list", "--json"]).output)
    assert {"SCJG-XK-001", "SFJ-FY-001"} <= {i["code"] for i in listed}
    # the CLI acts as an existing user: a designer deploys, a clerk of the item's department accepts
    assert runner.invoke(main, [*base, "department", "load", str(PROCESSES / "departments.toml")]).exit_code == 0
    for name, role in (("designer.wu", "designer"), ("clerk.li", "clerk")):
        added = runner.invoke(main, [*base, "user", "add", name, "--password", "govflow-2026", "--department",
                                     "qx-scjg", "--role", role])  # fmt: skip
        assert added.exit_code == 0, added.output
    deployed = runner.invoke(main, [*base, "deploy", str(PROCESSES / "approval.bpmn"), "--as", "designer.wu"])
    assert deployed.exit_code == 0, deployed.output
    result = runner.invoke(main, [*base, "apply", "SCJG-DJ-001", "--applicant", '{"name": "张三"}', "--data",
                                  '{"materials": ["个体工商户登记申请书"]}', "--as", "clerk.li"])  # fmt: skip
    assert result.exit_code == 0, result.output
    case_id, receipt = result.output.split()
    assert receipt.startswith("QXSCJG-") and len(case_id) == 32
    bad = runner.invoke(main, [*base, "apply", "SCJG-DJ-001", "--applicant", "{oops", "--as", "x"])
    assert bad.exit_code == 1 and bad.output.startswith("error: --applicant is not valid JSON")
    bad_file = tmp_path / "catalog.toml"
    shutil.copy(PROCESSES / "departments.toml", tmp_path / "departments.toml")
    bad_file.write_text(CATALOG.read_text(encoding="utf-8").replace('promised_limit = "45d"', 'promised_limit = "75d"'))
    result = runner.invoke(main, [*base, "catalog", "load", str(bad_file)])
    assert result.exit_code == 1
    assert "item SFJ-FY-001: promised_limit: the promised limit 75d exceeds the statutory limit 60d" in result.output
