"""Commands of the service-item catalog: `govflow catalog load|list` and `govflow apply ITEM_CODE`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.catalog import CatalogService
from engine.cli import _echo_json, _engine, acting, acting_options, handled, main
from engine.errors import InvalidData


def _catalog(engine):
    # The service is attached to the engine by ProcessEngine; build one when an older engine lacks it.
    return getattr(engine, "catalog", None) or CatalogService(engine)


def _json_option(text: str | None, option: str) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidData(f"{option} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise InvalidData(f"{option} must be a JSON object")
    return value


@main.group()
def catalog():
    """The service-item catalog (事项目录)."""


@catalog.command(name="load")
@click.argument("file", required=False, default="processes/catalog.toml", type=click.Path(path_type=Path))
@click.option("--departments", type=click.Path(path_type=Path), help="departments.toml (default: beside FILE).")
@click.pass_context
@handled
def load_command(ctx, file, departments):
    """Validate and load a catalog file (default processes/catalog.toml); prints the number of items."""
    items = _catalog(_engine(ctx)).load(file, departments)
    click.echo(f"loaded {len(items)} items from {file.name}")


@catalog.command(name="list")
@click.option("--department", help="Only this department's items.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handled
def list_command(ctx, department, as_json):
    """List the published items."""
    items = _catalog(_engine(ctx)).list(department)
    if as_json:
        _echo_json([item.to_dict() for item in items])
        return
    for item in items:
        click.echo(f"{item.code}\t{item.name}\t{item.kind}\t{item.department}\t{item.handling}\t"
                   f"{item.promised_limit}/{item.statutory_limit}\t{item.process}")  # fmt: skip


@main.command(name="apply")
@click.argument("item_code")
@click.option("--applicant", required=True, help='JSON {"name", "id_no", "phone", "kind": person|organisation}.')
@click.option("--data", help='Case data as a JSON object; "materials": names of the materials provided.')
@click.option("--proxy", help='Agent applying on the applicant\'s behalf (代办), JSON {"name", "phone"}.')
@acting_options()
@click.pass_context
@handled
def apply_command(ctx, item_code, applicant, data, proxy, username, override, reason):
    """Accept an application for a catalog item at the user's window (as the window's page does); prints the
    case id and its receipt number."""
    engine = _engine(ctx)
    applicant, data, proxy = (_json_option(applicant, "--applicant"), _json_option(data, "--data"),
                              _json_option(proxy, "--proxy"))  # fmt: skip
    actor, overridden = acting(engine, username, override, reason)
    case = engine.catalog.accept(actor, item_code, applicant, data, proxy=proxy, override=overridden)
    click.echo(f"{case.id} {case.receipt_no}")
