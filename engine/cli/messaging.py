"""Commands for messages and signals between cases: send a message (by correlation key), broadcast a signal,
list what was sent and what became of it."""

from __future__ import annotations

import click

from engine import local_time
from engine.cli import _data, _echo_json, _engine, handled, main


def _outcome(view: dict) -> str:
    if view["status"] == "undeliverable":
        refused = [f"{o.get('receipt_no') or o.get('process')}: {o['reason']}" for o in view["outcome"]]
        why = f" ({'; '.join(refused)})" if refused else ": no case waits for it and no process starts on it"
        return f"{view['kind']} '{view['name']}' could not be delivered{why}; it is kept as #{view['id']}"
    parts = []
    for o in view["outcome"]:
        if o["outcome"] == "started":
            parts.append(f"started {o['receipt_no']} ({o['process']})")
        elif o["outcome"] == "delivered":
            parts.append(f"delivered to {o['receipt_no']}")
        else:
            parts.append(f"refused by {o.get('receipt_no') or o.get('process')}: {o['reason']}")
    return f"{view['kind']} '{view['name']}' #{view['id']}: " + "; ".join(parts)


@main.command()
@click.argument("name")
@click.option("--key", help="The correlation key the waiting case waits for (default of a catch event: its receipt "
                            "number; the diagram may name another with the correlationKey property).")  # fmt: skip
@click.option("--case", "case_ref", help="Deliver to this one case (id or receipt number) instead of by key.")
@click.option("--data", help="The message payload as a JSON object; its fields become case data.")
@click.option("--as", "username", required=True, help="An existing user with the right to send messages (admin).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def message(ctx, name, key, case_ref, data, username, as_json):
    """Send the BPMN message NAME: to every running case waiting for it with the key, or else to the processes
    that start on it; kept as undeliverable when nobody takes it."""
    engine = _engine(ctx)
    actor = engine.identity.actor(username)
    if case_ref is not None:
        case = engine.messaging.send_to_case(actor, case_ref, "message", name, _data(data))
        click.echo(f"{case.receipt_no} received '{name}'; status {case.status}")
        return
    view = engine.messaging.send(actor, "message", name, key=key, data=_data(data))
    _echo_json(view) if as_json else click.echo(_outcome(view))


@main.command()
@click.argument("name")
@click.option("--case", "case_ref", help="Deliver to this one case (id or receipt number) only.")
@click.option("--data", help="The signal's payload as a JSON object; its fields become case data.")
@click.option("--as", "username", required=True, help="An existing user with the right to send signals (admin).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def signal(ctx, name, case_ref, data, username, as_json):
    """Broadcast the BPMN signal NAME: to every running case waiting for it, and to every process that starts
    on it."""
    engine = _engine(ctx)
    actor = engine.identity.actor(username)
    if case_ref is not None:
        case = engine.messaging.send_to_case(actor, case_ref, "signal", name, _data(data))
        click.echo(f"{case.receipt_no} received signal '{name}'; status {case.status}")
        return
    view = engine.messaging.send(actor, "signal", name, data=_data(data))
    _echo_json(view) if as_json else click.echo(_outcome(view))


@main.command(name="messages")
@click.option("--status", type=click.Choice(["pending", "delivered", "undeliverable"]))
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def messages(ctx, status, limit, as_json):
    """The newest messages and signals sent into the platform or thrown by cases, with what became of them."""
    engine = _engine(ctx)
    rows = engine.messaging.list(status=status, limit=limit)
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        sent = local_time.shown(row["sent_at"])
        origin = f"case {row['source_case_id']} {row['source_element']}" if row["source_case_id"] else row["sent_by"]
        click.echo(f"#{row['id']}\t{sent}\t{row['kind']}\t{row['name']}\t{row['key'] or '-'}\t{row['status']}\t"
                   f"{origin}")  # fmt: skip
