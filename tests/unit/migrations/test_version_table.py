"""The catalog's Alembic stamp is ``shipyard_alembic_version``; ``alembic_version`` is Optuna's.

A catalog migrated before ADR 0045 has its revisions in ``alembic_version``: the
first ``upgrade`` moves them, once, even with several processes opening it at once.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import optuna
import sqlalchemy as sa

from shipyard._internal.db import Database
from shipyard.catalog import migrate
from shipyard.catalog.migrate import FOREIGN_TABLES, VERSION_TABLE, all_tables_metadata, upgrade
from tests.unit.migrations.schema_check import schema_diff

SNAPSHOT = Path(__file__).parent / "snapshots" / "sqlite_before_core_0002.sql"


def _stamps(db: Database) -> dict[str, set[str]]:
    with db.engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        return {
            t: set(conn.execute(sa.text(f"SELECT version_num FROM {t}")).scalars())
            for t in ("alembic_version", VERSION_TABLE)
            if t in names
        }


def test_an_old_catalog_adopts_the_new_version_table_once_under_concurrency(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalog.db"
    con = sqlite3.connect(path)
    con.executescript(SNAPSHOT.read_text())  # written by a release stamping alembic_version
    con.execute("INSERT INTO alembic_version VALUES ('v3.2.0.a')")  # not the catalog's
    con.commit()
    con.close()
    dbs = [Database(f"sqlite:///{path}") for _ in range(3)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(dbs))

    def open_it(db: Database) -> None:
        try:
            start.wait()
            upgrade(db)
        except BaseException as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=open_it, args=(db,)) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert errors == []
        stamps = _stamps(dbs[0])
        assert stamps["alembic_version"] == {"v3.2.0.a"}  # the foreign revision stays
        heads, _parents = migrate._graph()
        assert migrate.is_current(stamps[VERSION_TABLE]) and stamps[VERSION_TABLE] <= heads
        assert schema_diff(dbs[0]) == []
        upgrade(dbs[0])  # current: nothing moves again
        assert _stamps(dbs[0]) == stamps
    finally:
        for db in dbs:
            db.dispose()


def test_optuna_shares_the_catalog_file_after_the_adoption(tmp_path: Path) -> None:
    """A catalog at every head under the old name: adopted without a migration, the old
    table dropped once empty, and Optuna then stamps ``alembic_version`` itself."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db = Database(url)
    try:
        upgrade(db)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE {VERSION_TABLE} RENAME TO alembic_version")
        before = _stamps(db)["alembic_version"]
        upgrade(db)
        assert _stamps(db) == {VERSION_TABLE: before}
        storage = optuna.storages.RDBStorage(url)
        optuna.create_study(study_name="beside", storage=storage)
        storage.engine.dispose()
        stamps = _stamps(db)
        assert stamps[VERSION_TABLE] == before and len(stamps["alembic_version"]) == 1
        upgrade(db)  # Optuna's stamp is not mistaken for an old catalog's
        assert _stamps(db) == stamps
        assert schema_diff(db) == []  # Optuna's tables are not the catalog's business
    finally:
        db.dispose()


def test_optunas_tables_are_the_foreign_ones_and_not_the_catalogs() -> None:
    import optuna.storages._rdb.models as models

    optunas = {*models.BaseModel.metadata.tables, "alembic_version"}
    assert optunas == FOREIGN_TABLES
    assert not FOREIGN_TABLES & {*all_tables_metadata().tables, VERSION_TABLE}
