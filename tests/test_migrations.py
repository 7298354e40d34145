"""The Alembic migrations build exactly the schema the models describe, in one linear history."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.store import Base, Database, upgrade
from engine.store.migrate import alembic_config


def test_migrations_match_the_models(database_url):
    db = Database(database_url)
    try:
        upgrade(db)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _for_dialect(conn.dialect)})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        db.dispose()


def test_one_head():
    heads = ScriptDirectory.from_config(alembic_config(Database("sqlite://"))).get_heads()
    assert len(heads) == 1, heads


def _for_dialect(dialect):
    """Leave out model indexes declared for another database (`Index(...).ddl_if(...)`): the migrations create
    them only there."""

    def include(obj, name, type_, reflected, compare_to):
        condition = getattr(obj, "_ddl_if", None)
        if reflected or condition is None:
            return True
        if condition.dialect is not None:
            names = [condition.dialect] if isinstance(condition.dialect, str) else condition.dialect
            return dialect.name in names
        return condition.callable_ is None or condition.callable_(None, obj, None, dialect=dialect)

    return include
