"""`govflow user ...`, `govflow role ...` and `govflow department ...`: the people, their roles and the department
tree."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time

import click

from engine.cli import _echo_json, _engine, handled, main
from engine.clock import LOCAL_TZ
from engine.errors import InvalidData
from engine.local_time import local


def _until(text: str | None) -> datetime | None:
    """A date (the absence lasts through that whole day) or an ISO datetime; local time when no zone is given."""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(datetime.fromisoformat(text).date(), time(23, 59, 59), tzinfo=LOCAL_TZ)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidData(f"--until {text!r} is not a date (YYYY-MM-DD) or an ISO date and time") from None
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)


@main.group()
def user() -> None:
    """Users, their roles and absences (AB岗)."""


@user.command("add")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters.")
@click.option("--department", required=True, help="Department code.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="A built-in role (clerk, reviewer, approver ...) or any lower-case group role a diagram names, "
    "e.g. investigator (repeatable).",
)
@click.option("--display-name", default=None, help="Name shown in the pages (e.g. 张伟).")
@click.pass_context
@handled
def user_add(ctx, name, password, department, roles, display_name):
    """Add a user holding ROLEs in DEPARTMENT."""
    created = _engine(ctx).identity.add_user(name, password, department, roles, display_name=display_name)
    click.echo(f"user {created.username} added to {created.department}: {', '.join(created.groups)}")


@user.command("absent")
@click.argument("name")
@click.option("--backup", required=True, help="The colleague covering (same department).")
@click.option("--until", "until", default=None, help="Last day of the absence (YYYY-MM-DD) or an ISO datetime.")
@click.pass_context
@handled
def user_absent(ctx, name, backup, until):
    """Mark NAME absent; BACKUP sees and acts on NAME's tasks, recorded as "BACKUP for NAME"."""
    end = _until(until)
    _engine(ctx).identity.set_absent(name, backup, end)
    when = f" until {local(end).isoformat(timespec='minutes')}" if end else " until cleared"
    click.echo(f"{name} is absent{when}; {backup} covers")


@user.command("back")
@click.argument("name")
@click.pass_context
@handled
def user_back(ctx, name):
    """End NAME's absence."""
    _engine(ctx).identity.clear_absent(name)
    click.echo(f"{name} is back")


@user.command("list")
@click.option("--department", default=None, help="Only this department.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handled
def user_list(ctx, department, as_json):
    """List users with their groups and who covers whom."""
    identity = _engine(ctx).identity
    users = identity.users(department)
    rows = []
    for u in users:
        away = identity.absence(u.username)
        rows.append({**asdict(u), "roles": list(u.roles), "groups": list(u.groups),
                     "absent": {"backup": away[0], "until": away[1].isoformat() if away[1] else None}
                     if away else None})  # fmt: skip
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        away = f"  (absent, {r['absent']['backup']} covers)" if r["absent"] else ""
        click.echo(f"{r['username']:<20} {r['display_name'] or '':<10} {r['department']:<16} "
                   f"{', '.join(r['roles'])}{away}")  # fmt: skip
    if not rows:
        click.echo("no users")


@main.group()
def department() -> None:
    """The department tree (city / county / town / village)."""


@department.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
@handled
def department_load(ctx, file):
    """Load or update departments from a TOML file of [[department]] tables."""
    loaded = _engine(ctx).identity.load_departments(file)
    click.echo(f"{len(loaded)} departments loaded")


@department.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--level", required=True, type=click.Choice(["city", "county", "town", "village"]))
@click.option("--parent", default=None)
@click.option("--leader", default=None)
@click.pass_context
@handled
def department_add(ctx, code, name, level, parent, leader):
    """Add or update one department."""
    _engine(ctx).identity.add_department(code, name, level, parent, leader)
    click.echo(f"department {code} saved")


@department.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handled
def department_list(ctx, as_json):
    """List the departments as a tree."""
    rows = _engine(ctx).identity.departments()
    if as_json:
        _echo_json([asdict(d) for d in rows])
        return
    children: dict[str | None, list] = {}
    for d in rows:
        children.setdefault(d.parent if d.parent in {r.code for r in rows} else None, []).append(d)

    def show(parent, depth):
        for d in children.get(parent, []):
            leader = f"  leader {d.leader}" if d.leader else ""
            click.echo(f"{'  ' * depth}{d.code}  {d.name}  [{d.level}]{leader}")
            show(d.code, depth + 1)

    show(None, 0)
    if not rows:
        click.echo("no departments")


@main.group()
def role() -> None:
    """Roles: the built-in ones (platform permissions) and the task-group roles diagrams name."""


@role.command("add")
@click.argument("code")
@click.option("--name", default=None, help="The name people see (e.g. 调查员); the code when not given.")
@click.pass_context
@handled
def role_add(ctx, code, name):
    """Record the task-group role CODE (or rename it); a user given a new role records it too."""
    info = _engine(ctx).identity.add_role(code, name)
    click.echo(f"role {info.code} ({info.name})" + (" built in" if info.built_in else " is a task group role"))


@role.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def role_list(ctx, as_json):
    """List the roles; the built-in ones carry platform permissions, the others are task groups only."""
    roles = _engine(ctx).identity.roles()
    if as_json:
        _echo_json([asdict(r) for r in roles])
        return
    for r in roles:
        click.echo(f"{r.code}\t{r.name}\t{'built-in' if r.built_in else 'task group'}")
