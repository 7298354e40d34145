"""Commands of the process designer and operator: init, lint, deploy, start, tasks, cases, audit, demo."""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path

import click

from engine import demo as demo_data
from engine import policy
from engine.case_json import badge_json, timed_task_json
from engine.cli import _data, _echo_json, _engine, acting, acting_options, handled, main
from engine.lint import lint_file
from engine.local_time import SECONDS, shown_with_offset
from engine.scheduler import TimerScheduler, WorkerRefused
from engine.services.history import event_json
from engine.store import upgrade


@main.command()
@click.pass_context
@handled
def init(ctx):
    """Create or upgrade the database schema (and fill what an upgrade leaves to the engine)."""
    engine = _engine(ctx)
    upgrade(engine.db)
    filled = engine.deadlines.fill_task_instants()  # open tasks kept before their rows had a clock's instants
    waiting = engine.messaging.fill_waits()  # running cases kept before their message waits were recorded
    click.echo(f"schema ready ({engine.db.dialect})"
               + (f"; {filled} open tasks given their clock's instants" if filled else "")
               + (f"; {waiting} waiting cases given their message and signal waits" if waiting else ""))  # fmt: skip


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_context
def lint(ctx, files):
    """Check BPMN files; prints FILE:LINE: ELEMENT_ID: message, exit 1 on findings."""
    forms = Path(ctx.obj["forms"])
    findings = [f for path in files for f in lint_file(path, forms)]
    for finding in findings:
        click.echo(finding.format())
    sys.exit(1 if findings else 0)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--new-version-of", "new_version_of", multiple=True, metavar="PROCESS_ID",
    help="The file's process PROCESS_ID is the next version of the process of that id deployed from another "
    "file (repeatable); without it such a file is refused.",
)  # fmt: skip
@acting_options()
@click.pass_context
@handled
def deploy(ctx, files, new_version_of, username, override, reason):
    """Deploy BPMN files as a designer; lint findings refuse a file (exit 2). Prints KEY vN per process."""
    engine = _engine(ctx)
    actor, overridden = acting(engine, username, override, reason)
    if overridden is None:
        policy.require(policy.subject(engine, actor), "deploy")
    for path in files:
        for d in engine.repository.deploy_file(path, actor.username, new_version_of):
            click.echo(f"{d.key} v{d.version}" + ("" if d.created else " (unchanged)"))
            for warning in d.warnings:
                click.echo(f"warning: {warning}", err=True)


@main.command()
@click.option("--all", "all_versions", is_flag=True, help="Every version, not only the latest.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def processes(ctx, all_versions, as_json):
    """List deployed processes."""
    rows = _engine(ctx).repository.list(latest_only=not all_versions)
    if as_json:
        _echo_json([
            {"key": p.key, "version": p.version, "name": p.name, "dialect": p.dialect, "sha256": p.sha256,
             "deployed_at": p.deployed_at.isoformat(), "deployed_by": p.deployed_by} for p in rows
        ])  # fmt: skip
        return
    for p in rows:
        click.echo(f"{p.key} v{p.version}\t{p.name or ''}\t{p.dialect}\t{shown_with_offset(p.deployed_at)}")


@main.command()
@click.argument("key")
@click.option("--data", help="Initial case data as a JSON object.")
@acting_options()
@click.option("--version", type=int, help="A specific process version (default: latest).")
@click.pass_context
@handled
def start(ctx, key, data, username, override, reason, version):
    """Start a case of a process that runs no catalog item (those are applied for: `govflow apply`); prints
    the case id and its receipt number."""
    engine = _engine(ctx)
    actor, overridden = acting(engine, username, override, reason)
    case = engine.runtime.start_as(actor, key, _data(data), version=version, override=overridden)
    click.echo(f"{case.id} {case.receipt_no}")


@main.command()
@click.option("--case", "case_id")
@click.option("--user", help="Tasks assigned to this user (with --group, also the groups' unclaimed tasks).")
@click.option("--group", "groups", multiple=True)
@click.option("--state", default="open", show_default=True, type=click.Choice(["open", "completed", "cancelled"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def tasks(ctx, case_id, user, groups, state, as_json):
    """List human tasks."""
    engine = _engine(ctx)
    if case_id:
        case_id = engine.runtime.get(case_id).id
    rows = engine.tasks.query(user=user, groups=groups or None, case_id=case_id, state=state, limit=1000)
    badges = engine.deadlines.task_badges(rows)  # the colour the inbox shows, on the row's clock instants
    if as_json:
        _echo_json([timed_task_json(t, badge) for t, badge in zip(rows, badges, strict=True)])
        return
    for t, badge in zip(rows, badges, strict=True):
        click.echo(f"{t.id}\t{t.bpmn_id}\t{t.name or ''}\t{','.join(t.candidate_groups)}\t{t.assignee or '-'}\t"
                   f"{shown_with_offset(t.due_at)}\t{badge_json(badge)['colour']}")  # fmt: skip


def _task_ref(engine, ref: str) -> str:
    return engine.tasks.resolve(ref)


@main.command()
@click.argument("task")
@acting_options()
@click.pass_context
@handled
def claim(ctx, task, username, override, reason):
    """Claim a task offered to the user (or to the absent colleague they cover)."""
    engine = _engine(ctx)
    task_id = _task_ref(engine, task)
    actor, overridden = acting(engine, username, override, reason)
    t = engine.tasks.claim(task_id, actor=actor, override=overridden)
    click.echo(f"{t.id} claimed by {t.assignee}")


@main.command()
@click.argument("task")
@acting_options()
@click.pass_context
@handled
def unclaim(ctx, task, username, override, reason):
    """Give a claimed task back to its groups."""
    engine = _engine(ctx)
    task_id = _task_ref(engine, task)
    actor, overridden = acting(engine, username, override, reason)
    t = engine.tasks.unclaim(task_id, actor=actor, override=overridden)
    click.echo(f"{t.id} unclaimed")


@main.command()
@click.argument("task")
@click.option("--data", help="The form data as a JSON object (only the fields of the task's form).")
@acting_options()
@click.pass_context
@handled
def complete(ctx, task, data, username, override, reason):
    """Complete a task with its form's data (checked as the task page checks it); prints the case afterwards."""
    engine = _engine(ctx)
    task_id = _task_ref(engine, task)
    actor, overridden = acting(engine, username, override, reason)
    t = engine.tasks.complete(task_id, data=_data(data), actor=actor, override=overridden)
    case = engine.runtime.describe(t.case_id)
    click.echo(f"{t.id} completed; case {case['receipt_no']} is {case['status']}")
    for nxt in case["tasks"]:
        click.echo(f"  next: {nxt['id']}\t{nxt['bpmn_id']}\t{nxt['name'] or ''}")


def _status_command(name: str, help_text: str):
    @main.command(name=name, help=help_text)
    @click.argument("case_id")
    @click.option("--reason", required=True, help="Why (recorded in the audit trail; with --override, its reason).")
    @acting_options(reason=False)
    @click.pass_context
    @handled
    def command(ctx, case_id, reason, username, override):
        engine = _engine(ctx)
        actor, overridden = acting(engine, username, override, reason)
        if overridden is None:
            case = engine.supervision.act(name, actor, case_id, reason)
        else:
            case = getattr(engine.runtime, name)(engine.runtime.get(case_id).id, actor=actor.username,
                                                 reason=reason, override=overridden)  # fmt: skip
        click.echo(f"{case.receipt_no} is {case.status}")

    return command


_status_command("suspend", "Suspend a running case (a reason is required).")
_status_command("resume", "Resume a suspended case (a reason is required).")
_status_command("terminate", "Terminate a case (a reason is required).")


@main.command()
@click.argument("case_id")
@click.option("--reason", required=True, help="Why (recorded in the audit trail; with --override, its reason).")
@acting_options(reason=False)
@click.pass_context
@handled
def retry(ctx, case_id, reason, username, override):
    """Retry a case that stopped in `error`."""
    engine = _engine(ctx)
    actor, overridden = acting(engine, username, override, reason)
    if overridden is None:
        case = engine.supervision.act("retry", actor, case_id, reason)
    else:
        case = engine.runtime.retry(engine.runtime.get(case_id).id, actor=actor.username, override=overridden)
    click.echo(f"{case.receipt_no} is {case.status}")


@main.command(name="case")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def case_command(ctx, case_id, as_json):
    """Show a case: status, active tasks, data and audit trail."""
    engine = _engine(ctx)
    view = engine.runtime.describe(case_id)
    events = engine.history.trail(view["id"])
    trail = [event_json(e) for e in events]
    if as_json:
        _echo_json({**view, "trail": trail})
        return
    click.echo(f"case {view['id']}  receipt {view['receipt_no']}  {view['process']} v{view['version']}")
    click.echo(f"status: {view['status']}")
    if view["error"]:
        click.echo(f"error at {view['error']['element']}: {view['error']['message']}")
    click.echo("tasks:" if view["tasks"] else "tasks: none")
    for t in view["tasks"]:
        click.echo(f"  {t['id']}\t{t['bpmn_id']}\t{t['name'] or ''}\t{t['assignee'] or '-'}")
    click.echo("data: " + json.dumps(view["data"], ensure_ascii=False, sort_keys=True))
    click.echo("trail:")
    for e in events:
        click.echo(f"  {e.seq:>3} {shown_with_offset(e.at, SECONDS)} {e.actor:<12} {e.action:<16} {e.bpmn_id or ''}")


@main.group()
def audit():
    """The audit trail."""


@audit.command()
@click.argument("case_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def verify(ctx, case_id, as_json):
    """Verify the hash chain of one case or of all; exit 1 if any chain is broken."""
    reports = _engine(ctx).history.verify(case_id)
    broken = [r for r in reports if not r.ok]
    if as_json:
        _echo_json([r.__dict__ for r in reports])
    else:
        for r in broken:
            click.echo(f"BROKEN case {r.case_id}: event {r.first_bad_seq}: {r.reason}")
        click.echo(f"{len(reports) - len(broken)} of {len(reports)} case chains intact")
    sys.exit(1 if broken else 0)


def _serve(engine, host: str, port: int, scheduler: bool) -> None:
    """Run the web app (and the timer scheduler in this process unless told not to)."""
    # Here, not at the top: every other command runs without Flask and the web app loaded (tests/test_layers.py).
    from webui import create_app

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    # Plain http on this machine only: the session cookie cannot be Secure there. Anywhere else it stays
    # Secure and the app is expected behind a TLS proxy.
    app = create_app(engine, {"SESSION_COOKIE_SECURE": not loopback})
    worker = None
    if scheduler:
        try:
            worker = TimerScheduler(engine).start()
            click.echo("timer scheduler running")
        except WorkerRefused as exc:  # a `govflow worker` already fires the timers of this database
            click.echo(f"timer scheduler not started here: {exc}", err=True)
    try:
        app.run(host=host, port=port, threaded=True)
    finally:
        if worker is not None:
            worker.stop()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not fire timers in this process (another worker does).")
@click.pass_context
@handled
def serve(ctx, host, port, no_scheduler):
    """Serve the web app over an existing database."""
    _serve(_engine(ctx), host, port, not no_scheduler)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--processes", "processes_dir", default="processes", show_default=True, type=click.Path(path_type=Path))
@click.option("--cases", default=36, show_default=True, type=int, help="Demo cases to seed into an empty database.")
@click.option("--no-scheduler", is_flag=True, help="Do not fire timers in this process.")
@click.option("--seed-only", is_flag=True, help="Seed the database and exit without serving.")
@click.pass_context
@handled
def demo(ctx, host, port, processes_dir, cases, no_scheduler, seed_only):
    """Create the embedded database, deploy processes/, seed the demo organisation, catalog and cases, serve."""
    engine = _engine(ctx)
    upgrade(engine.db)
    for path in sorted(processes_dir.glob("*.bpmn")):
        for d in engine.repository.deploy_file(path, "demo"):
            click.echo(f"deployed {d.key} v{d.version}" + ("" if d.created else " (unchanged)"))
    accounts = demo_data.seed_organisation(engine, processes_dir)
    if cases and not engine.tasks.query(limit=1) and not demo_data.has_cases(engine):
        click.echo(f"seeded {demo_data.seed_cases(engine, cases)} demo cases")
    click.echo(demo_data.accounts_table(accounts))
    if seed_only:
        return
    click.echo(f"govflow demo on http://{host}:{port}/  (database: {engine.db.url})")
    _serve(engine, host, port, not no_scheduler)
