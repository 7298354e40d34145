"""Commands of time limits: the working-day calendar, the timer worker, alerts, a case's limits, clock stops and
extensions."""

from __future__ import annotations

import signal
import threading
from datetime import date, datetime

import click

from engine import deadlines, escalation, local_time
from engine.calendar import PACKAGE_SOURCE
from engine.cli import _echo_json, _engine, acting, acting_options, handled, main
from engine.errors import InvalidData
from engine.scheduler import TimerScheduler
from engine.stages import stage_label

_WEEKDAYS = "一二三四五六日"


def _date(text: str, what: str = "DATE") -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidData(f"{what} {text!r} is not a YYYY-MM-DD date") from None


@main.group(name="calendar")
def calendar_group():
    """The statutory working-day calendar (工作日历)."""


@calendar_group.command(name="show")
@click.argument("year", type=int)
@click.option("--all", "every_day", is_flag=True, help="Every day of the year, not only the exceptions.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def calendar_show(ctx, year, every_day, as_json):
    """Holidays and adjusted working days of YEAR; flags a year the data does not cover as provisional."""
    cal = _engine(ctx).calendar.current()
    days = cal.year(year)
    provisional = cal.is_provisional(date(year, 1, 1))
    shown = [(d, w, n) for d, w, n in days if every_day or w != (d.weekday() < 5) or n]
    if as_json:
        _echo_json({"year": year, "provisional": provisional, "workdays": sum(w for _, w, _ in days),
                    "days": [{"date": d.isoformat(), "workday": w, "name": n} for d, w, n in shown]})  # fmt: skip
        return
    click.echo(f"{year}: {sum(w for _, w, _ in days)} working days" + (" (provisional: weekend rule only, the "
               "official schedule is not in the data)" if provisional else ""))  # fmt: skip
    for d, w, n in shown:
        click.echo(f"{d.isoformat()} 周{_WEEKDAYS[d.weekday()]}  {'上班' if w else '休息'}  {n or ''}".rstrip())


@calendar_group.command(name="set")
@click.argument("day")
@click.argument("kind", type=click.Choice(["workday", "rest"]))
@click.option("--reason", required=True, help="Why (e.g. the local government's notice).")
@click.pass_context
@handled
def calendar_set(ctx, day, kind, reason):
    """Record a local override: DATE is a working day or a rest day."""
    _engine(ctx).calendar.set_day(_date(day), kind == "workday", reason)
    click.echo(f"{day} is now a {'working' if kind == 'workday' else 'rest'} day ({reason.strip()})")


@calendar_group.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
@handled
def calendar_import(ctx, file):
    """Import local overrides from a CSV file: date,workday|rest,reason (all rows checked first)."""
    count = _engine(ctx).calendar.import_overrides(file)
    click.echo(f"{count} local overrides imported")


@calendar_group.command(name="seed")
@click.option("--years", help="A year or a range like 2020-2026 (default: every year the package covers).")
@click.pass_context
@handled
def calendar_seed(ctx, years):
    """Seed (or refresh) the official schedule from the holidays package; local overrides are kept."""
    span = None
    if years:
        first, _, last = years.partition("-")
        try:
            span = range(int(first), int(last or first) + 1)
        except ValueError:
            raise InvalidData(f"--years {years!r} is not a year or a range like 2020-2026") from None
    written, span = _engine(ctx).calendar.seed(span)
    click.echo(f"{written} calendar rows written ({PACKAGE_SOURCE}, years {span.start}-{span.stop - 1})")


@calendar_group.command(name="add")
@click.argument("day")
@click.argument("period")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def calendar_add(ctx, day, period, as_json):
    """The due date PERIOD (e.g. 20wd or 30d) after DATE, the start day not counted."""
    start = _date(day)
    limit = deadlines.Limit.parse(period, "PERIOD")
    due = deadlines.add(_engine(ctx).calendar.current(), start, limit)
    if as_json:
        _echo_json({"start": start.isoformat(), "period": str(limit), "due": due.day.isoformat(),
                    "due_at": deadlines.end_of(due.day).isoformat(), "provisional": due.provisional})  # fmt: skip
        return
    click.echo(
        f"{due.day.isoformat()} 周{_WEEKDAYS[due.day.weekday()]}" + (" (provisional)" if due.provisional else "")
    )


@main.command()
@click.option("--threads", type=int, help="Cases fired side by side (PostgreSQL; default 4; SQLite: 1).")
@click.option("--sweep", "sweep_seconds", default=30.0, show_default=True, help="Safety sweep interval, seconds.")
@click.pass_context
@handled
def worker(ctx, threads, sweep_seconds):
    """Fire timers and send notifications until stopped (Ctrl-C / SIGTERM)."""
    engine = _engine(ctx)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = TimerScheduler(engine, threads=threads, sweep_seconds=sweep_seconds).start()
    click.echo(f"govflow worker firing timers ({engine.db.dialect}, {scheduler.threads} threads); Ctrl-C stops")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.stop()
    click.echo(f"worker stopped; {scheduler.fired} cases fired")


@main.command()
@click.option("--case", "case_ref", help="Alerts of one case (id or receipt number).")
@click.option("--department")
@click.option("--kind", help="yellow, red, red_plus or a rule code.")
@click.option("--limit", default=100, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def alerts(ctx, case_ref, department, kind, limit, as_json):
    """Supervision alerts, newest first."""
    engine = _engine(ctx)
    case_id = engine.runtime.get(case_ref).id if case_ref else None
    rows = escalation.alerts(engine, case_id=case_id, department=department, kind=kind, limit=limit)
    if as_json:
        _echo_json([escalation.alert_json(a) for a in rows])
        return
    for a in rows:
        click.echo(f"{local_time.shown_with_offset(a.raised_at)}\t{a.kind}\t{a.receipt_no}\t{stage_label(a.stage)}\t"
                   f"{a.department or '-'}\t{','.join(a.officers or []) or '-'}\t{a.message or ''}")  # fmt: skip


@main.command()
@click.argument("case_ref")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def limits(ctx, case_ref, as_json):
    """A case's stage clocks: colour, due dates, working days left, clock stops, extension."""
    engine = _engine(ctx)
    view = engine.deadlines.case_limits(engine.runtime.get(case_ref).id)
    if as_json:
        _echo_json(view.as_json())
        return
    click.echo(f"colour: {view.colour or '-'}" + ("  (clock stopped)" if view.stopped else ""))
    for s in view.stages:
        due = lambda t: local_time.shown(t, "%Y-%m-%d") or "-"  # noqa: E731  (a local day: the zone goes without saying)
        click.echo(f"  {stage_label(s.stage)} [{s.stage}]  {s.colour or '-':<8} promised {due(s.promised_due)}"
                   f"  statutory {due(s.statutory_due)}  left {s.days_left if s.days_left is not None else '-'} wd"
                   f"{'  provisional' if s.provisional else ''}{'  stopped' if s.stopped else ''}"
                   f"{'  extended ' + s.extension['by'] if s.extension else ''}"
                   f"{'' if s.running else '  done'}")  # fmt: skip


@main.command(name="stop-clock")
@click.argument("case_ref")
@click.option("--reason", required=True, help="hearing, testing, inspection, expert_review, supplement ...")
@click.option("--basis", help="The article, e.g. 行政许可法第45条.")
@acting_options(reason=False)
@click.pass_context
@handled
def stop_clock(ctx, case_ref, reason, basis, username, override):
    """Stop every running clock of a case (the time is not counted)."""
    engine = _engine(ctx)
    actor, overridden = acting(engine, username, override, reason)
    engine.deadlines.stop_clock(engine.runtime.get(case_ref).id, reason, basis=basis, actor=actor.username,
                                who=actor, override=overridden)  # fmt: skip
    click.echo(f"clocks of {case_ref} stopped ({reason})")


@main.command(name="resume-clock")
@click.argument("case_ref")
@acting_options()
@click.pass_context
@handled
def resume_clock(ctx, case_ref, username, override, reason):
    """Let a case's clocks run again."""
    engine = _engine(ctx)
    actor, overridden = acting(engine, username, override, reason)
    engine.deadlines.resume_clock(engine.runtime.get(case_ref).id, actor=actor.username, who=actor,
                                  override=overridden)  # fmt: skip
    click.echo(f"clocks of {case_ref} running again")


@main.command()
@click.argument("case_ref")
@click.argument("stage")
@click.argument("by")
@click.option("--basis", required=True, help="The article, e.g. 行政许可法第42条.")
@click.option("--approved-by", required=True)
@acting_options()
@click.pass_context
@handled
def extend(ctx, case_ref, stage, by, basis, approved_by, username, override, reason):
    """Extend a stage's limit once, within the legal maximum (e.g. extend CASE case 10wd)."""
    engine = _engine(ctx)
    actor, overridden = acting(engine, username, override, reason)
    status = engine.deadlines.extend(engine.runtime.get(case_ref).id, stage, by, basis=basis,
                                     approved_by=approved_by, actor=actor.username, who=actor,
                                     override=overridden)  # fmt: skip
    click.echo(f"{stage} extended by {by}; statutory due {local_time.shown(status.statutory_due, '%Y-%m-%d')}")
