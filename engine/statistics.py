"""Performance figures (绩效统计) per department, item, window officer, month or quarter, within a scope.

The cohort is the cases received (created) in the window. Of them: completed, completion rate, on-time rate
(completed within the promised limit, of the completed), the average and the 90th percentile of working days
from receipt to completion (working days by the statutory calendar, clock-stop days excluded — computed once,
at completion, in the supervision projection), open alerts, clock-stop days and extensions.
The 90th percentile is the nearest-rank one (the smallest value with at least 90 % of the cases at or below it).

The figures are read from the daily roll-up (engine/statistics_rollup.py: per local day of receipt and department,
or department, item and officer, with a histogram of working days), so a window costs its days × groups, not its
cases.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from engine.csv_export import CsvWriter
from engine.errors import InvalidData
from engine.statistics_rollup import COUNTS, DEPARTMENT, FULL
from engine.store.supervision import DailyFigures, DailyWorkingDays
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


def _check_window(start: date, end: date) -> None:
    if end < start:
        raise InvalidData(f"the window ends ({end}) before it starts ({start})", [("to", "before from")])


def _in_window(table, scope: Scope, by: str, start: date, end: date) -> list:
    """Roll-up rows (DailyFigures or DailyWorkingDays) of the days from `start` to `end`, within the scope, at the
    grain a grouping reads: per department (a few rows a day), or per department, item and officer."""
    grain = FULL if by in ("item", "officer") else DEPARTMENT
    cond = [table.grain == grain, table.day >= start, table.day <= end]
    if scope.departments is not None:
        cond.append(table.department.in_(sorted(scope.departments)))
    return cond


def _group_column(table, by: str):
    """The roll-up column a grouping reads: months and quarters are folded from days (_group_name)."""
    return getattr(table, {"department": "department", "item": "item_code", "officer": "officer"}.get(by, "day"))


def _group_name(by: str, key) -> str:
    """The name of a group: the code (``-`` for none), else the month (YYYY-MM) or quarter (YYYY-Qn) of a day."""
    if by == "month":
        return key.strftime("%Y-%m")
    if by == "quarter":
        return f"{key.year}-Q{(key.month - 1) // 3 + 1}"
    return key or "-"


def _p90(counts: dict[int, int]) -> int | None:
    """The nearest-rank 90th percentile of a histogram {working days: cases}."""
    rank = math.ceil(0.9 * sum(counts.values()))
    seen = 0
    for days in sorted(counts):
        seen += counts[days]
        if seen >= rank > 0:
            return days
    return None


def figures(engine, scope: Scope, by: str, start: date, end: date) -> list[Figures]:
    """Figures per group for cases received from `start` to `end` (inclusive local days), largest groups first."""
    return _figures(engine, scope, by, start, end)


def _figures(engine, scope: Scope, by: str, start: date, end: date, *, detail: bool = True) -> list[Figures]:
    """`detail`: also the 90th percentile (a ranking does not need it)."""
    if by not in GROUPINGS:
        raise InvalidData(f"by: '{by}' is not one of {', '.join(GROUPINGS)}", [("by", "unknown")])
    _check_window(start, end)
    d, h = DailyFigures, DailyWorkingDays
    key = _group_column(d, by)
    sums = [func.sum(getattr(d, c)) for c in COUNTS]
    with engine.db.session() as session:
        rows = session.execute(select(key, *sums).where(*_in_window(d, scope, by, start, end)).group_by(key)).all()
        spread: dict[str, dict[int, int]] = {}
        if detail:
            hkey = _group_column(h, by)
            query = select(hkey, h.working_days, func.sum(h.cases)).where(*_in_window(h, scope, by, start, end))
            for k, days, n in session.execute(query.group_by(hkey, h.working_days)):
                counts = spread.setdefault(_group_name(by, k), {})
                counts[days] = counts.get(days, 0) + int(n)
    totals: dict[str, list[int]] = {}
    for k, *values in rows:
        total = totals.setdefault(_group_name(by, k), [0] * len(COUNTS))
        for i, value in enumerate(values):
            total[i] += int(value or 0)
    result = []
    for name, (received, completed, on_time, timed, days, stops, extensions, alerts) in totals.items():
        if not received:
            continue
        result.append(Figures(
            name, received, completed, on_time,
            completion_rate=round(completed / received, 4),
            on_time_rate=round(on_time / completed, 4) if completed else None,
            avg_working_days=round(days / timed, 2) if timed else None,
            p90_working_days=_p90(spread.get(name, {})),
            open_alerts=alerts, clock_stop_days=stops, extensions=extensions,
        ))  # fmt: skip
    if by in ("month", "quarter"):
        return sorted(result, key=lambda f: f.key)
    return sorted(result, key=lambda f: (-f.received, f.key))


def monthly_volume(engine, scope: Scope, start: date, end: date) -> list[tuple[str, int, int]]:
    """(month, received, completed) for the trend chart: two counts per month, nothing else."""
    _check_window(start, end)
    d = DailyFigures
    query = select(d.day, func.sum(d.received), func.sum(d.completed)).where(*_in_window(d, scope, "month", start, end))
    months: dict[str, list[int]] = {}
    with engine.db.session() as session:
        for day, received, completed in session.execute(query.group_by(d.day)):
            month = months.setdefault(_group_name("month", day), [0, 0])
            month[0] += int(received or 0)
            month[1] += int(completed or 0)
    return sorted((m, n, done) for m, (n, done) in months.items() if n)


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
    `minimum` completed cases are left out (a rate over one case says little). The ranked figures leave out the
    90th percentile, which does not rank."""
    if by not in ("department", "officer"):
        raise InvalidData("a ranking is by department (windows) or officer", [("by", "unknown")])
    start, end = quarter_window(year, quarter)
    grouped = _figures(engine, scope, by, start, end, detail=False)
    rows = [f for f in grouped if f.completed >= minimum and f.key != "-"]
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
    writer = CsvWriter(buffer)
    writer.writerow([title for _, title in CSV_COLUMNS])
    for fig in rows:
        data = fig.to_json()
        writer.writerow(["" if data[k] is None else data[k] for k, _ in CSV_COLUMNS])
    return "\ufeff" + buffer.getvalue()
