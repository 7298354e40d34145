"""The engine services the web and the command line call instead of opening sessions: saved inbox filters and
the working-day calendar's changes (each one transaction, visible to the next deadline counted)."""

from __future__ import annotations

from datetime import date

import pytest

from engine import deadlines
from engine.errors import Conflict, InvalidData
from engine.services.saved_filters import MAX_FILTERS


def test_saved_filters_are_per_user_replaced_by_name_and_capped(engine):
    filters = engine.saved_filters
    first = filters.save("li.clerk", " 超期 ", {"colour": "red"})
    filters.save("li.clerk", "超期", {"colour": "red_plus"})
    filters.save("wang.rev", "超期", {"colour": "yellow"})
    assert [(f.id, f.name, f.query) for f in filters.list_for("li.clerk")] == [(first.id, "超期", {"colour": "red_plus"})]
    filters.delete("wang.rev", first.id)  # another user's filter is left alone
    assert len(filters.list_for("li.clerk")) == 1
    with pytest.raises(InvalidData, match="1-100 characters"):
        filters.save("li.clerk", "  ", {})
    for n in range(MAX_FILTERS - 1):
        filters.save("li.clerk", f"f{n}", {"q": str(n)})
    with pytest.raises(Conflict, match=f"at most {MAX_FILTERS} saved filters"):
        filters.save("li.clerk", "one too many", {})
    filters.delete("li.clerk", first.id)
    assert "超期" not in {f.name for f in filters.list_for("li.clerk")}


def test_a_calendar_change_counts_at_once_and_a_bad_import_writes_nothing(engine, tmp_path):
    one_day = deadlines.Limit.parse("1wd")
    assert deadlines.add(deadlines.calendar_for(engine), date(2026, 10, 12), one_day).day == date(2026, 10, 13)
    engine.calendar.set_day(date(2026, 10, 13), False, "台风停止办公（市政府通告）")
    assert deadlines.add(deadlines.calendar_for(engine), date(2026, 10, 12), one_day).day == date(2026, 10, 14)
    with pytest.raises(InvalidData, match="needs a reason"):
        engine.calendar.set_day(date(2026, 10, 14), False, " ")
    bad = tmp_path / "overrides.csv"
    bad.write_text("2026-10-14,rest,停电\n2026-10-15,holiday,停水\n", encoding="utf-8")
    with pytest.raises(InvalidData, match="line 2: field 'kind'"):
        engine.calendar.import_overrides(bad)
    assert not engine.calendar.current().is_workday(date(2026, 10, 13))
    assert engine.calendar.current().is_workday(date(2026, 10, 14))
    written, years = engine.calendar.seed(range(2026, 2027))
    assert written > 0 and list(years) == [2026]
    assert not engine.calendar.current().is_workday(date(2026, 10, 13))  # the local decision outlives a seed
