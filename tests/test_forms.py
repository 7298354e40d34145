"""Task forms: fields from JSON Schema, HTML strings coerced to typed data, Chinese messages per field path."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from engine.errors import InvalidData, NotFound
from engine.forms import FormLibrary
from tests.conftest import FIXTURES

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def forms():
    return FormLibrary(FIXTURES / "forms")


def test_fields_and_widgets_follow_the_schema(forms):
    form = forms.get("test/review")
    assert form.title == "审查意见（测试表单）"
    widgets = {f.name: f.widget for f in form.fields}
    assert widgets == {
        "conclusion": "radio", "site_area": "number", "staff": "number", "inspected_on": "date",
        "hazard": "checkbox", "category": "select", "inspectors": "table", "report": "file", "opinion": "textarea",
    }  # fmt: skip
    conclusion = form.field("conclusion")
    assert conclusion.required and conclusion.options() == [("pass", "通过"), ("fail", "不通过")]
    assert form.field("category").options()[3] == ("catering", "餐饮")
    area = form.field("site_area")
    assert (area.minimum, area.maximum, area.title) == (1, 100000, "经营面积（平方米）")
    inspectors = form.field("inspectors")
    assert [(s.name, s.required) for s in inspectors.item_fields] == [("name", True), ("badge", False)]


def test_every_form_gets_an_opinion_field(tmp_path):
    (tmp_path / "plain.json").write_text(json.dumps({"type": "object", "properties": {"ok": {"type": "boolean"}}}))
    form = FormLibrary(tmp_path).get("plain")
    assert [f.name for f in form.fields] == ["ok", "opinion"]
    assert form.field("opinion").title == "审批意见" and form.field("opinion").widget == "textarea"
    assert "opinion" in form.schema["properties"]


def test_coerce_html_strings_to_typed_data(forms):
    formdata = MultiDict([
        ("conclusion", "pass"), ("site_area", "12.5"), ("staff", "3"), ("inspected_on", "2026-09-18"),
        ("hazard", "on"), ("category", "retail"), ("opinion", XSS),
        ("inspectors-1-name", "李四"), ("inspectors-1-badge", ""),
        ("inspectors-0-name", "张三"), ("inspectors-0-badge", "123456"),
        ("inspectors-2-name", " "), ("inspectors-2-badge", ""),  # an empty row is no row
        ("report", ""),
    ])  # fmt: skip
    data = forms.coerce("test/review", formdata)
    assert data == {
        "conclusion": "pass", "site_area": 12.5, "staff": 3, "inspected_on": "2026-09-18", "hazard": True,
        "category": "retail", "opinion": XSS,
        "inspectors": [{"name": "张三", "badge": "123456"}, {"name": "李四"}],
    }  # fmt: skip
    assert forms.validate("test/review", data) == []
    # an unticked checkbox is false, a plain dict of lists works as well
    assert forms.coerce("test/review", {"hazard": []})["hazard"] is False


def test_bad_input_is_kept_and_reported_per_field(forms):
    data = forms.coerce("test/review", MultiDict([
        ("conclusion", "maybe"), ("site_area", "twelve"), ("staff", "2.5"), ("inspected_on", "18/09/2026"),
        ("inspectors-0-name", "张三"), ("inspectors-0-badge", "12"),
    ]))  # fmt: skip
    assert data["site_area"] == "twelve" and data["staff"] == "2.5"  # kept as typed, to show them again
    errors = forms.validate("test/review", data)
    assert errors == [
        ("conclusion", "须为以下之一：通过、不通过"),
        ("site_area", "应为数字"),
        ("staff", "应为整数"),
        ("inspected_on", "应为日期（年-月-日）"),
        ("inspectors.0.badge", "格式不正确"),
    ]


def test_required_and_bounds_messages(forms):
    errors = dict(forms.validate("test/review", {"site_area": 200000, "inspectors": [], "opinion": "x" * 501}))
    assert errors == {"conclusion": "必填", "site_area": "不得大于 100000", "inspectors": "至少 1 项",
                      "opinion": "不得超过 500 个字符"}  # fmt: skip
    errors = dict(forms.validate("test/review", {"conclusion": "pass", "site_area": 5, "inspectors": [{}]}))
    assert errors == {"inspectors.0.name": "必填"}
    with pytest.raises(InvalidData) as raised:
        forms.check("test/review", {"site_area": 5})
    assert "审查结论" in str(raised.value) and raised.value.errors == [("conclusion", "必填")]


def test_unknown_or_unsafe_keys_and_broken_schemas(forms, tmp_path):
    with pytest.raises(NotFound, match="form test/nothing does not exist"):
        forms.get("test/nothing")
    with pytest.raises(NotFound, match="is not valid"):
        forms.get("../conftest")
    (tmp_path / "broken.json").write_text('{"type": "object", "properties": {"a": {"type": "strin"}}}')
    with pytest.raises(InvalidData, match="form broken: not a valid JSON Schema"):
        FormLibrary(tmp_path).get("broken")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidData, match="form bad: not valid JSON"):
        FormLibrary(tmp_path).get("bad")


def test_changed_file_is_read_again(tmp_path):
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"title": "一", "type": "object"}))
    library = FormLibrary(tmp_path)
    assert library.get("f").title == "一"
    path.write_text(json.dumps({"title": "二", "type": "object"}))
    import os

    os.utime(path, (1, 2_000_000_000))
    assert library.get("f").title == "二"
    assert library.keys() == ["f"]
