"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL when GOVFLOW_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.clock import LOCAL_TZ, ManualClock
from engine.process_engine import ProcessEngine
from engine.store import Database, upgrade

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
PG_URL = os.environ.get("GOVFLOW_TEST_DATABASE_URL")
CHROMIUM = Path("/usr/bin/chromium")


def _backends():
    return ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pytest_configure(config):
    config.addinivalue_line("markers", "backend(name): run the test only on that database backend")


def pytest_generate_tests(metafunc):
    """Every test using a database runs on each configured backend; one marked `backend(...)` only there."""
    if "database_url" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backend")
        wanted = [b for b in _backends() if marker is None or b in marker.args]
        metafunc.parametrize("database_url", wanted, indirect=True)


@pytest.fixture
def database_url(request, tmp_path):
    """A URL to an empty database of each configured backend; a PostgreSQL schema is made per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'govflow.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def chromium_installed() -> None:
    """Browser tests fail (never skip) when Debian's chromium is missing: a suite that cannot run is red."""
    if not CHROMIUM.exists():
        pytest.fail(f"Debian's chromium is not installed at {CHROMIUM}: the browser tests cannot run", pytrace=False)


@pytest.fixture
def clock():
    return ManualClock(datetime(2026, 9, 18, 9, 0, tzinfo=LOCAL_TZ))


@pytest.fixture
def engine(database_url, clock):
    db = Database(database_url)
    upgrade(db)
    eng = ProcessEngine(db, clock=clock, forms_dir=FIXTURES / "forms")
    yield eng
    eng.close()


@pytest.fixture
def deploy(engine):
    def _deploy(name: str, actor: str = "designer"):
        return engine.repository.deploy_file(FIXTURES / name, actor)

    return _deploy
