"""On PostgreSQL, each environment is a schema of the one database (ADR 0028)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shipyard.platform import Platform


def test_each_environment_is_its_own_schema(project_dir: Path, pg_url: str) -> None:
    settings = {"catalog": {"url": pg_url}}
    with Platform.open(project_dir, **settings) as plain:
        plain.registry.create_registered_model("shared_default")
    with Platform.open(project_dir, environment="dev", **settings) as dev:
        dev.registry.create_registered_model("only_dev")
        names = [m.name for m in dev.registry.list_registered_models().items]
        assert names == ["only_dev"]  # not the default schema's model
    with Platform.open(project_dir, environment="prod", **settings) as prod:
        assert prod.registry.list_registered_models().items == []
        assert prod.settings.catalog_schema == "shipyard_prod"
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        schemas = set(
            conn.execute(sa.text("SELECT schema_name FROM information_schema.schemata")).scalars()
        )
        default = conn.execute(sa.text("SELECT name FROM registry_models")).scalars().all()
        where = (
            conn.execute(
                sa.text(
                    "SELECT table_schema FROM information_schema.tables "
                    "WHERE table_name = 'registry_models'"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert {"shipyard_dev", "shipyard_prod"} <= schemas
    assert default == ["shared_default"]  # the environment-less project kept its schema
    assert sorted(where) == ["public", "shipyard_dev", "shipyard_prod"]
