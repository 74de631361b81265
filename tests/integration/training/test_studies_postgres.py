"""On PostgreSQL, studies live in the catalog's own schema (ADR 0045): the database's
default one, or an environment's (ADR 0028)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa

from shipyard._internal.db import Database
from shipyard.catalog.migrate import VERSION_TABLE, upgrade
from shipyard.platform import Platform
from shipyard.training import storage as study_storage

pytestmark = pytest.mark.integration

X = {"x": {"type": "float", "low": -4, "high": 4}}
CONFIG = "jobs:\n  modules: [tests.unit.training.funcs]\n"


@pytest.fixture(autouse=True)
def _close_storages(pg_url: str) -> Iterator[None]:
    yield
    study_storage.dispose_all()  # before pg_url drops the database


def _where(url: str, table: str) -> list[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return sorted(
                conn.execute(
                    sa.text("SELECT schemaname FROM pg_tables WHERE tablename = :t"), {"t": table}
                ).scalars()
            )
    finally:
        engine.dispose()


def _tune(p: Platform, name: str) -> float:
    study = p.training.tune(
        "tests.unit.training.funcs:quadratic", X, n_trials=2, metric="loss",
        direction="minimize", pruner="none", study_name=name,
    )  # fmt: skip
    assert study.complete == 2 and study.best is not None and study.best.value is not None
    return study.best.value


def test_studies_share_the_catalogs_schema_per_environment(project_dir: Path, pg_url: str) -> None:
    (project_dir / "shipyard.yaml").write_text(CONFIG)
    catalog = {"url": pg_url}
    with Platform.open(project_dir, catalog=catalog) as plain:
        best = _tune(plain, "plain-search")
    with Platform.open(project_dir, environment="dev", catalog=catalog) as dev:
        _tune(dev, "dev-search")
        names = set(optuna.get_all_study_names(study_storage.storage(dev.settings)))
        assert names == {"dev-search"}  # not the default schema's study
    assert _where(pg_url, "studies") == ["public", "shipyard_dev"]
    assert _where(pg_url, VERSION_TABLE) == ["public", "shipyard_dev"]
    assert _where(pg_url, "alembic_version") == ["public", "shipyard_dev"]  # Optuna's
    study_storage.dispose_all()
    with Platform.open(project_dir, catalog=catalog) as again:  # a fresh process's view
        assert again.training.get_study("plain-search").best.value == best  # type: ignore[union-attr]


def test_an_old_catalog_and_its_optuna_schema_are_adopted(project_dir: Path, pg_url: str) -> None:
    """Before ADR 0045: the catalog stamped ``alembic_version`` and the studies were in
    schema ``optuna``. Opening upgrades the stamp, then moves the studies in."""
    (project_dir / "shipyard.yaml").write_text(CONFIG)
    db = Database(pg_url)
    try:
        upgrade(db)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE {VERSION_TABLE} RENAME TO alembic_version")
            conn.exec_driver_sql(
                f"ALTER TABLE alembic_version RENAME CONSTRAINT {VERSION_TABLE}_pkc "
                "TO alembic_version_pkc"
            )
            conn.exec_driver_sql("CREATE SCHEMA optuna")
    finally:
        db.dispose()
    url = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    with Platform.open(project_dir, catalog={"url": pg_url}) as p:
        parent = p.tracking.create_run("training", run_name="old")
        old = optuna.storages.RDBStorage(
            url, engine_kwargs={"connect_args": {"options": "-csearch_path=optuna"}}
        )
        study = optuna.create_study(study_name="old", storage=old, direction="minimize")
        for k, v in {"parent_run_id": parent.id, "metric": "loss", "pruner": "none"}.items():
            study.set_user_attr(k, v)
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": 1.0},
                distributions={"x": optuna.distributions.FloatDistribution(-4, 4)},
                value=1.0,
            )
        )
        old.engine.dispose()
        study_storage.dispose_all()
        assert p.training.get_study("old").complete == 1
        _tune(p, "new")  # the adopted tables' sequences moved with them
    assert _where(pg_url, "studies") == ["public"]
    assert _where(pg_url, VERSION_TABLE) == ["public"]
    assert _where(pg_url, "trials") == ["public"]
