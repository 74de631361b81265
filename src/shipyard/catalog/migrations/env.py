"""Alembic environment: runs on the connection handed over by ``shipyard.catalog.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from shipyard.catalog.migrate import FOREIGN_TABLES, VERSION_TABLE, all_tables_metadata

config = context.config
target_metadata = all_tables_metadata()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` command line: build an engine from the URL
        from shipyard._internal.db import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///dev.db")
        try:
            with engine.begin() as conn:
                _configure_and_run(conn)
        finally:
            engine.dispose()
        return
    _configure_and_run(connection)


def _ours(name: str | None, type_: str, _parent: object) -> bool:
    """Autogenerate leaves alone the tables other software keeps here (Optuna's)."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        version_table=VERSION_TABLE,
        include_name=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
