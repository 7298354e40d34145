"""Working-day calendar: the 2026 official schedule, statutory limits on it, provisional years, overrides.

The 2026 facts come from 国务院办公厅《关于2026年部分节假日安排的通知》 (published November 2025).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from engine.calendar import (
    DEFAULT_TZ,
    PACKAGE_SOURCE,
    DueDate,
    WorkdayCalendar,
    import_overrides,
    package_years,
    seed,
    seed_rows,
    set_override,
)
from engine.store.models import Base, CalendarDay

D = date
ACCEPTED = D(2026, 9, 18)  # a Friday, one week before Mid-Autumn and two before National Day

# Weekdays off and weekend days worked in 2026, per the State Council notice.
OFFICIAL_2026_REST_WEEKDAYS = {
    D(2026, 1, 1), D(2026, 1, 2),  # 元旦 Jan 1-3
    D(2026, 2, 16), D(2026, 2, 17), D(2026, 2, 18), D(2026, 2, 19), D(2026, 2, 20), D(2026, 2, 23),  # 春节
    D(2026, 4, 6),  # 清明 Apr 4-6
    D(2026, 5, 1), D(2026, 5, 4), D(2026, 5, 5),  # 劳动节 May 1-5
    D(2026, 6, 19),  # 端午 Jun 19-21
    D(2026, 9, 25),  # 中秋 Sep 25-27
    D(2026, 10, 1), D(2026, 10, 2), D(2026, 10, 5), D(2026, 10, 6), D(2026, 10, 7),  # 国庆 Oct 1-7
}  # fmt: skip
OFFICIAL_2026_WORKING_WEEKEND_DAYS = {
    D(2026, 1, 4),  # Sunday, for 元旦
    D(2026, 2, 14), D(2026, 2, 28),  # Saturdays, for 春节
    D(2026, 5, 9),  # Saturday, for 劳动节
    D(2026, 9, 20), D(2026, 10, 10),  # Sunday and Saturday, for 国庆
}  # fmt: skip


@pytest.fixture(scope="module")
def cal() -> WorkdayCalendar:
    return WorkdayCalendar.from_holidays(range(2024, 2028))


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_2026_seed_is_exactly_the_official_schedule(cal):
    in_2026 = {d: w for d, w in cal.exceptions.items() if d.year == 2026}
    assert {d for d, w in in_2026.items() if not w} == OFFICIAL_2026_REST_WEEKDAYS
    assert {d for d, w in in_2026.items() if w} == OFFICIAL_2026_WORKING_WEEKEND_DAYS
    assert 2026 in package_years()


def test_spring_festival_2026(cal):
    for offset in range(9):  # Feb 15 (Sun) to Feb 23 (Mon), 9 days
        assert not cal.is_workday(D(2026, 2, 15) + timedelta(days=offset))
    assert cal.is_workday(D(2026, 2, 14)) and D(2026, 2, 14).weekday() == 5
    assert cal.is_workday(D(2026, 2, 28)) and D(2026, 2, 28).weekday() == 5
    assert cal.is_workday(D(2026, 2, 24))


def test_national_day_week_and_its_adjusted_working_days(cal):
    assert cal.is_workday(D(2026, 9, 20)) and D(2026, 9, 20).weekday() == 6
    assert cal.is_workday(D(2026, 10, 10)) and D(2026, 10, 10).weekday() == 5
    assert not any(cal.is_workday(D(2026, 10, day)) for day in range(1, 8))
    assert not cal.is_workday(D(2026, 9, 25))
    assert not cal.is_workday(D(2026, 10, 11))  # an ordinary Sunday


def test_decision_limit_20_workdays(cal):
    # 行政许可法 Art 42: 20 wd, over 9-20 (Sun, worked), Mid-Autumn, National Day, 10-10 (Sat, worked).
    assert cal.add_workdays(ACCEPTED, 20) == DueDate(D(2026, 10, 22), provisional=False)


def test_extension_10_workdays(cal):
    assert cal.add_workdays(D(2026, 10, 22), 10) == DueDate(D(2026, 11, 5), provisional=False)


def test_joint_handling_45_workdays(cal):
    assert cal.add_workdays(ACCEPTED, 45) == DueDate(D(2026, 11, 26), provisional=False)


def test_review_appeal_30_days_ending_on_sunday(cal):
    # Day 30 is Sunday 2026-10-18: the period ends on Monday (民事诉讼法 Art 85).
    assert D(2026, 10, 18).weekday() == 6
    assert cal.add_days(ACCEPTED, 30) == DueDate(D(2026, 10, 19), provisional=False)


def test_calendar_days_over_national_day(cal):
    assert cal.add_days(ACCEPTED, 13).day == D(2026, 10, 8)  # day 13 is Oct 1: rolls past the whole week
    assert cal.add_days(ACCEPTED, 22).day == D(2026, 10, 10)  # a worked Saturday is not a rest day
    assert cal.add_days(ACCEPTED, 5).day == D(2026, 9, 23)  # an ordinary weekday stays


def test_start_day_is_not_counted(cal):
    assert cal.add_workdays(D(2026, 9, 21), 1).day == D(2026, 9, 22)
    assert cal.add_workdays(D(2026, 9, 21), 0).day == D(2026, 9, 21)
    assert cal.add_days(D(2026, 9, 21), 1).day == D(2026, 9, 22)


def test_datetime_start_uses_the_service_centre_date(cal):
    # 17:30 UTC on the 17th is 01:30 on the 18th in Beijing.
    assert cal.add_workdays(datetime(2026, 9, 17, 17, 30, tzinfo=UTC), 20).day == D(2026, 10, 22)
    assert cal.add_workdays(datetime(2026, 9, 18, 16, 30, tzinfo=DEFAULT_TZ), 20).day == D(2026, 10, 22)
    assert cal.add_workdays(datetime(2026, 9, 18, 9, 0), 20).day == D(2026, 10, 22)


def test_end_of_day_is_the_deadline_instant():
    end = DueDate(D(2026, 10, 22), False).end_of_day(DEFAULT_TZ)
    assert end == datetime(2026, 10, 22, 23, 59, 59, tzinfo=DEFAULT_TZ)
    assert end.astimezone(UTC) == datetime(2026, 10, 22, 15, 59, 59, tzinfo=UTC)


def test_2027_is_provisional(cal):
    due = cal.add_workdays(D(2026, 12, 20), 20)
    assert due.provisional is True
    # Weekend rule only: 2027-01-01 counts as a working day until the 2027 schedule is loaded.
    assert due.day == D(2027, 1, 15)
    assert cal.is_provisional(D(2027, 1, 1)) and cal.is_workday(D(2027, 1, 1))
    assert cal.add_workdays(D(2026, 11, 2), 10).provisional is False
    assert cal.add_days(D(2026, 12, 20), 30).provisional is True
    assert 2027 not in cal.covered_years


def test_negative_counts_are_rejected(cal):
    with pytest.raises(ValueError):
        cal.add_workdays(ACCEPTED, -1)
    with pytest.raises(ValueError):
        cal.add_days(ACCEPTED, -1)


def test_workdays_between_agrees_with_add_workdays(cal):
    start = D(2025, 12, 1)
    for offset in range(0, 430, 3):  # across 2026 and into provisional 2027
        s = start + timedelta(days=offset)
        for n in (0, 1, 5, 10, 20, 45):
            due = cal.add_workdays(s, n).day
            assert cal.workdays_between(s, due) == n, (s, n)
            assert cal.workdays_between(due, s) == -n, (s, n)
            assert cal.is_workday(due) or n == 0


def test_workdays_between_matches_day_by_day_count(cal):
    a, b = D(2025, 12, 25), D(2027, 1, 10)
    brute = sum(cal.is_workday(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))
    assert cal.workdays_between(a, b) == brute
    assert cal.workdays_between(D(2026, 9, 30), D(2026, 10, 8)) == 1


def test_year_listing(cal):
    days = cal.year(2026)
    assert len(days) == 365 and days[0][0] == D(2026, 1, 1) and days[-1][0] == D(2026, 12, 31)
    assert sum(w for _, w, _ in days) == 261 - 19 + 6  # Mon-Fri, minus weekday holidays, plus worked weekends
    names = {d: n for d, _, n in days}
    assert names[D(2026, 10, 10)] == "调休上班"
    assert names[D(2026, 10, 1)] == "国庆节"
    assert len(cal.year(2028)) == 366


def test_seed_rows_only_store_days_off_the_weekend_rule():
    rows = seed_rows([2026, 2027])
    assert {r["day"] for r in rows} == OFFICIAL_2026_REST_WEEKDAYS | OFFICIAL_2026_WORKING_WEEKEND_DAYS
    assert {r["source"] for r in rows} == {PACKAGE_SOURCE}


def test_seed_and_load_from_database(session, cal):
    assert seed(session, [2025, 2026, 2027]) == len(seed_rows([2025, 2026]))
    assert seed(session, [2025, 2026, 2027]) == 0  # refresh with unchanged data writes nothing
    loaded = WorkdayCalendar.from_session(session)
    assert loaded.covered_years == {2025, 2026}
    assert loaded.add_workdays(ACCEPTED, 20) == DueDate(D(2026, 10, 22), False)
    assert loaded.add_workdays(D(2026, 12, 20), 20).provisional


def test_seed_repairs_changed_rows_and_keeps_local_ones(session):
    seed(session, [2026])
    session.get(CalendarDay, D(2026, 10, 6)).is_workday = True  # a damaged seeded row
    set_override(session, D(2026, 10, 7), True, "本中心国庆值班窗口照常受理")
    assert seed(session, [2026]) == 1
    assert session.get(CalendarDay, D(2026, 10, 6)).is_workday is False
    kept = session.get(CalendarDay, D(2026, 10, 7))
    assert kept.is_workday is True and kept.source == "local"


def test_override_changes_the_result(session):
    seed(session, [2026])
    set_override(session, D(2026, 10, 9), False, "台风停止办公（市政府通告）")
    cal = WorkdayCalendar.from_session(session)
    assert not cal.is_workday(D(2026, 10, 9))
    assert cal.add_workdays(ACCEPTED, 20).day == D(2026, 10, 23)
    assert WorkdayCalendar.from_holidays([2026]).add_workdays(ACCEPTED, 20).day == D(2026, 10, 22)


def test_override_needs_a_reason(session):
    with pytest.raises(ValueError, match="reason"):
        set_override(session, D(2026, 10, 9), False, "  ")
    assert session.scalar(select(func.count()).select_from(CalendarDay)) == 0


def test_import_overrides(session, tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text("date,kind,reason\n2026-10-09,rest,台风停止办公\n\n2026-10-11,workday,集中办理日\n", "utf-8")
    assert import_overrides(session, path) == 2
    cal = WorkdayCalendar.from_session(session)
    assert not cal.is_workday(D(2026, 10, 9)) and cal.is_workday(D(2026, 10, 11))


def test_import_overrides_rejects_bad_rows_and_writes_nothing(session, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("2026-10-09,rest,台风停止办公\n2026-10-12,holiday,x\n2026-13-01,rest,y\n2026-10-14,rest,\n")
    with pytest.raises(ValueError) as err:
        import_overrides(session, path)
    message = str(err.value)
    assert f"{path}: line 2: field 'kind'" in message
    assert f"{path}: line 3: field 'date'" in message
    assert f"{path}: line 4: field 'reason'" in message
    assert session.scalar(select(func.count()).select_from(CalendarDay)) == 0
