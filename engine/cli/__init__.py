"""The `govflow` command. Each area registers its commands in a module of this package.

Errors print one line (`error: ...`) and exit non-zero; every listing has --json.
"""

from __future__ import annotations

import functools
import getpass
import json
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from engine import policy
from engine.errors import GovflowError, InvalidData, LintFailed
from engine.process_engine import ProcessEngine


def _engine(ctx: click.Context):
    obj = ctx.ensure_object(dict)
    if "engine" not in obj:
        obj["engine"] = ProcessEngine(obj.get("db"), forms_dir=obj.get("forms"))
        ctx.call_on_close(obj["engine"].close)
    return obj["engine"]


def _echo_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handled(func):
    """Turn the platform's errors into one clear line and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except LintFailed as exc:
            for finding in exc.findings:
                click.echo(finding.format(), err=True)
            sys.exit(2)
        except InvalidData as exc:
            # the fields by the names the command line gave them, where the message says them otherwise
            text = str(exc)
            fields = "; ".join(f"{field}: {reason}" for field, reason in exc.errors if field not in text)
            _fail(f"{text} ({fields})" if fields else text)
        except GovflowError as exc:
            _fail(str(exc))
        except json.JSONDecodeError as exc:
            _fail(f"--data is not valid JSON: {exc.msg} at column {exc.colno}")
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror}" if exc.strerror else str(exc))
        except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
            if _database_error(exc):
                _fail(f"database: {str(exc).splitlines()[0]} (is the schema created? run `govflow init`)")
            raise

    return wrapper


def _database_error(exc: Exception) -> bool:
    return isinstance(exc, SQLAlchemyError)


def _data(text: str | None) -> dict:
    return json.loads(text) if text else {}


def acting_options(*, reason: bool = True):
    """`--as USER` (an existing user, whose rights the command has: the permission policy decides) and an
    operator's `--override` with its mandatory `--reason` (recorded in the audit event as an override). A
    command that has a `--reason` of its own (suspend ...) passes `reason=False` and that reason serves."""

    def wrap(func):
        func = click.option("--override", is_flag=True,
                            help="Act although the permission policy refuses (an operator's override, recorded in "
                                 "the audit trail with --reason and the operator's login).")(func)  # fmt: skip
        if reason:
            func = click.option("--reason", help="Why the override is needed (required with --override).")(func)
        return click.option(
            "--as",
            "username",
            required=True,
            help="An existing user: the command acts with exactly that user's rights.",
        )(func)

    return wrap


def acting(engine, username: str, override: bool = False, reason: str | None = None):
    """(the Actor of an existing user, the operator's Override or None); an override without a reason is
    refused."""
    actor = engine.identity.actor(username)  # NotFound: "user X does not exist"
    if not override:
        return actor, None
    return actor, policy.Override(reason or "", operator=getpass.getuser())


@click.group()
@click.option("--db", envvar="GOVFLOW_DATABASE_URL", help="Database URL (default: sqlite file var/govflow.db).")
@click.option("--forms", default="forms", show_default=True, help="Folder of the task forms (JSON Schema).")
@click.pass_context
def main(ctx: click.Context, db: str | None, forms: str) -> None:
    """govflow: BPMN procedures of a government service centre, with statutory time limits."""
    ctx.ensure_object(dict).update(db=db, forms=forms)


def _register() -> None:
    # Each module adds its commands to `main` when imported; they import `main` from here, so they load last.
    from engine.cli import catalog, identity, messaging, process, time_limits  # noqa: F401 - lazy: they import this module


_register()
