"""Database connection: the embedded SQLite file by default, PostgreSQL when GOVFLOW_DATABASE_URL says so."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE_PATH = Path("var") / "govflow.db"


def database_url(explicit: str | None = None) -> str:
    """The URL to use: an explicit one, else GOVFLOW_DATABASE_URL, else the embedded SQLite file under var/."""
    url = explicit or os.environ.get("GOVFLOW_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the web inbox) run while a step commits; FULL makes each commit durable.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """An engine plus its session factory."""

    def __init__(self, url: str | None = None, **engine_options):
        self.url = database_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine_options.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
        # PostgreSQL: no pre-ping (a round trip on every checkout, two per API request). A connection the server
        # dropped fails its first statement; SQLAlchemy then invalidates the whole pool, the transaction rolls back
        # whole, and the next call reconnects (the scheduler's drain retries on its own).
        self.engine: Engine = create_engine(self.url, **engine_options)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own BEGIN handling is off so that write sessions can take the write lock at
            # BEGIN: two writers then queue on the busy timeout instead of failing half-way.
            event.listen(self.engine, "connect", _disable_pysqlite_begin)
            event.listen(self.engine, "begin", _begin)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(govflow_write=True)
        self.write_sessions = sessionmaker(writer, expire_on_commit=False)
        # PostgreSQL: statements outside a transaction, for lookups of one or two statements that write nothing
        # (no BEGIN and ROLLBACK round trips). SQLite reads cost no round trip: the plain session does.
        reader = self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.is_postgresql else self.engine
        self.lookup_sessions = sessionmaker(reader, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def session(self) -> Session:
        """A session for reading (and for writes that need no queueing)."""
        return self.sessions()

    def lookup_session(self) -> Session:
        """A session for a read of one or two statements that writes nothing and needs no common snapshot."""
        return self.lookup_sessions()

    def write_session(self) -> Session:
        """A session for a case step: on SQLite it takes the write lock at BEGIN, so concurrent steps queue."""
        return self.write_sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def _disable_pysqlite_begin(dbapi_connection, _record):
    dbapi_connection.isolation_level = None


def _begin(conn):
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("govflow_write") else "BEGIN")
