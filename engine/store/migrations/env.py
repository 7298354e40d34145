"""Alembic environment: runs against the engine handed over by engine.store.migrate."""

from alembic import context

import engine.store  # noqa: F401  (every area's tables register on Base.metadata)
from engine.store.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
