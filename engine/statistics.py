"""Performance figures (绩效统计) per department, item, window officer, month or quarter, within a scope.

The cohort is the cases received (created) in the window. Of them: completed, completion rate, on-time rate
(completed within the promised limit, of the completed), the average and the 90th percentile of working days
from receipt to completion (working days by the statutory calendar, clock-stop days excluded — computed once,
at completion, in the supervision projection), open alerts, clock-stop days and extensions.
The 90th percentile is the nearest-rank one (the smallest value with at least 90 % of the cases at or below it).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, and_, case, cast, func, literal_column, select

from engine.clock import LOCAL_TZ
from engine.errors import InvalidData
from engine.store.supervision import SupervisedCase
from engine.supervision import Scope

GROUPINGS = ("department", "item", "officer", "month", "quarter")


@dataclass
class Figures:
    key: str
    received: int = 0
    completed: int = 0
    on_time: int = 0
    completion_rate: float | None = None
    on_time_rate: float | None = None
    avg_working_days: float | None = None
    p90_working_days: int | None = None
    open_alerts: int = 0
    clock_stop_days: int = 0
    extensions: int = 0
    label: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _window(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidData(f"the window ends ({end}) before it starts ({start})", [("to", "before from")])
    return datetime.combine(start, time.min, LOCAL_TZ), datetime.combine(end + timedelta(days=1), time.min, LOCAL_TZ)


def _month_key(engine):
    """SQL for the local month (YYYY-MM) a case was received in."""
    column = SupervisedCase.created_at
    if engine.db.is_postgresql:
        # Grouped by the truncated instant (cheap per row); formatted as YYYY-MM after grouping (_name).
        return func.date_trunc("month", func.timezone(str(LOCAL_TZ), column))
    offset = datetime(2026, 1, 1, tzinfo=LOCAL_TZ).utcoffset()
    hours = int(offset.total_seconds() // 3600)
    return func.strftime("%Y-%m", func.datetime(column, f"{hours:+d} hours"))


def _group_column(engine, by: str):
    if by == "department":
        return SupervisedCase.department
    if by == "item":
        return SupervisedCase.item_code
    if by == "officer":
        return SupervisedCase.officer
    return _month_key(engine)  # month, and quarter folded from months below


def _name(key) -> str:
    """A group key as text: month keys come back as a timestamp from PostgreSQL."""
    if key is None:
        return "-"
    return key.strftime("%Y-%m") if isinstance(key, datetime) else str(key)


def _quarter(month: str) -> str:
    year, m = month.split("-")
    return f"{year}-Q{(int(m) - 1) // 3 + 1}"


def _p90(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _open_alerts(engine, session, key, cond) -> dict[str, int]:
    """Open alerts of the cohort's cases per group (none when the time-limits area is not installed)."""
    try:
        from engine.store.time_limits import SupervisionAlert
    except ImportError:
        return {}
    from engine.alerts_board import open_alert_condition

    query = (
        select(key, func.count(SupervisionAlert.id))
        .join(SupervisionAlert, SupervisionAlert.case_id == SupervisedCase.case_id)
        .where(*cond, open_alert_condition())
        .group_by(key)
    )
    return {_name(k): int(n) for k, n in session.execute(query)}


def figures(engine, scope: Scope, by: str, start: date, end: date) -> list[Figures]:
    """Figures per group for cases received from `start` to `end` (inclusive local days), largest groups first."""
    if by not in GROUPINGS:
        raise InvalidData(f"by: '{by}' is not one of {', '.join(GROUPINGS)}", [("by", "unknown")])
    lo, hi = _window(start, end)
    t = SupervisedCase
    cond = [t.created_at >= lo, t.created_at < hi]
    if scope.departments is not None:
        cond.append(t.department.in_(sorted(scope.departments)))
    key = _group_column(engine, by).label("key")
    done = t.status == "completed"
    columns = [
        key, func.count(), func.sum(case((done, 1), else_=0)),
        func.sum(case((and_(done, t.on_time.is_(True)), 1), else_=0)),
        func.avg(case((done, t.working_days), else_=None)),
        func.sum(t.clock_stop_days), func.sum(t.extensions),
    ]  # fmt: skip
    if engine.db.is_postgresql:
        p90 = func.percentile_disc(0.9).within_group(t.working_days).filter(done)
        columns.append(cast(p90, Integer))
    else:
        columns.append(literal_column("NULL"))
    with engine.db.session() as session:
        rows = session.execute(select(*columns).where(*cond).group_by(key)).all()
        spread: dict[str, list[int]] = {}
        if not engine.db.is_postgresql:
            query = select(key, t.working_days).where(*cond, done, t.working_days.is_not(None))
            for k, days in session.execute(query):
                spread.setdefault(_name(k), []).append(int(days))
        alerts = _open_alerts(engine, session, key, cond)
    result: dict[str, Figures] = {}
    for k, received, completed, on_time, avg, stops, extensions, p90 in rows:
        name = _name(k)
        group = _quarter(name) if by == "quarter" and name != "-" else name
        fig = result.setdefault(group, Figures(group))
        # Quarters fold months: the average is re-weighted by completed cases, the p90 taken over all values.
        total_days = (fig.avg_working_days or 0) * fig.completed + float(avg or 0) * int(completed or 0)
        fig.received += int(received)
        fig.completed += int(completed or 0)
        fig.on_time += int(on_time or 0)
        fig.avg_working_days = total_days / fig.completed if fig.completed else None
        fig.clock_stop_days += int(stops or 0)
        fig.extensions += int(extensions or 0)
        fig.open_alerts += alerts.get(name, 0)
        if p90 is not None and by != "quarter":
            fig.p90_working_days = int(p90)
    if by == "quarter" and engine.db.is_postgresql:
        with engine.db.session() as session:
            query = select(key, t.working_days).where(*cond, done, t.working_days.is_not(None))
            for k, days in session.execute(query):
                spread.setdefault(_name(k), []).append(int(days))
    if spread:
        merged: dict[str, list[int]] = {}
        for k, values in spread.items():
            merged.setdefault(_quarter(k) if by == "quarter" else k, []).extend(values)
        for k, values in merged.items():
            if k in result:
                result[k].p90_working_days = _p90(values)
    for fig in result.values():
        fig.completion_rate = round(fig.completed / fig.received, 4) if fig.received else None
        fig.on_time_rate = round(fig.on_time / fig.completed, 4) if fig.completed else None
        if fig.avg_working_days is not None:
            fig.avg_working_days = round(fig.avg_working_days, 2)
    order = sorted(result.values(), key=lambda f: f.key) if by in ("month", "quarter") else sorted(
        result.values(), key=lambda f: (-f.received, f.key))  # fmt: skip
    return order


def monthly_volume(engine, scope: Scope, start: date, end: date) -> list[tuple[str, int, int]]:
    """(month, received, completed) for the trend chart: two counts per month, nothing else."""
    lo, hi = _window(start, end)
    t = SupervisedCase
    cond = [t.created_at >= lo, t.created_at < hi]
    if scope.departments is not None:
        cond.append(t.department.in_(sorted(scope.departments)))
    key = _month_key(engine).label("key")
    query = select(key, func.count(), func.sum(case((t.status == "completed", 1), else_=0))).where(*cond).group_by(key)
    with engine.db.session() as session:
        rows = session.execute(query).all()
    return sorted((_name(k), int(n), int(done or 0)) for k, n, done in rows)


def quarter_window(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a calendar quarter."""
    if quarter not in (1, 2, 3, 4):
        raise InvalidData(f"quarter must be 1-4, got {quarter}", [("quarter", "range")])
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1) - timedelta(days=1)
    return start, end


def ranking(engine, scope: Scope, by: str, year: int, quarter: int, *, minimum: int = 1) -> list[Figures]:
    """The quarter's ranking of windows (by='department') or officers (by='officer') — 优秀服务窗口 / 服务标兵:
    on-time rate, then completion rate, then fewer working days, then more cases. Groups with fewer than
    `minimum` completed cases are left out (a rate over one case says little)."""
    if by not in ("department", "officer"):
        raise InvalidData("a ranking is by department (windows) or officer", [("by", "unknown")])
    start, end = quarter_window(year, quarter)
    rows = [f for f in figures(engine, scope, by, start, end) if f.completed >= minimum and f.key != "-"]
    return sorted(
        rows,
        key=lambda f: (-(f.on_time_rate or 0), -(f.completion_rate or 0), f.avg_working_days or 0, -f.received),
    )


CSV_COLUMNS = [
    ("key", "分组"), ("label", "名称"), ("received", "收件数"), ("completed", "办结数"),
    ("completion_rate", "办结率"), ("on_time_rate", "按时办结率"), ("avg_working_days", "平均用时（工作日）"),
    ("p90_working_days", "90%用时（工作日）"),
    ("open_alerts", "未处理预警"), ("clock_stop_days", "中止计时天数"), ("extensions", "延期次数"),
]  # fmt: skip


def to_csv(rows: list[Figures]) -> str:
    """The figures as CSV text (UTF-8 with BOM for spreadsheet programs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([title for _, title in CSV_COLUMNS])
    for fig in rows:
        data = fig.to_json()
        writer.writerow(["" if data[k] is None else data[k] for k, _ in CSV_COLUMNS])
    return "\ufeff" + buffer.getvalue()
