"""Migrations build exactly the schema the code declares, and re-opening is a no-op."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from shipyard._internal.db import Database
from shipyard.catalog import migrate
from shipyard.catalog.migrate import alembic_config, all_tables_metadata, upgrade
from shipyard.platform import Platform
from tests.unit.migrations.schema_check import alembic_upgrade_heads, schema_diff


def test_alembic_upgrade_heads_on_empty_sqlite_matches_metadata(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    alembic_upgrade_heads(url)
    db = Database(url)
    try:
        assert schema_diff(db) == []
        tables = set(sa.inspect(db.engine).get_table_names())
        assert set(all_tables_metadata().tables) <= tables
    finally:
        db.dispose()


def test_platform_upgrade_on_empty_sqlite_matches_metadata(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'platform.db'}")
    try:
        upgrade(db)
        assert schema_diff(db) == []
    finally:
        db.dispose()


def test_every_branch_follows_the_layout() -> None:
    """<cap>_NNNN revisions; a branch root has its label and depends on core_0001."""
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = list(scripts.walk_revisions())
    assert "core_0001" in {r.revision for r in revisions}
    for rev in revisions:
        cap, _, number = rev.revision.rpartition("_")
        assert cap and number.isdigit() and len(number) == 4, rev.revision
        if rev.down_revision is None:
            assert rev.branch_labels == {cap}, rev.revision
            if cap != "core":
                assert rev.dependencies == "core_0001" or rev.dependencies == ("core_0001",), (
                    rev.revision
                )
        else:
            assert str(rev.down_revision).startswith(f"{cap}_"), rev.revision


def test_opening_a_platform_again_is_a_fast_no_op(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Platform.open(project_dir).close()

    def no_upgrade(*_a: object, **_k: object) -> None:
        raise AssertionError("the schema was current; nothing should be migrated")

    monkeypatch.setattr(migrate.command, "upgrade", no_upgrade)
    statements: list[str] = []

    def count(_conn: object, _cur: object, statement: str, *_a: object) -> None:
        statements.append(statement)

    db = Database(f"sqlite:///{project_dir / '.shipyard' / 'catalog.db'}")
    sa.event.listen(db.engine, "before_cursor_execute", count)
    started = time.perf_counter()
    upgrade(db)
    elapsed = time.perf_counter() - started
    db.dispose()
    queries = [s for s in statements if not s.upper().startswith(("BEGIN", "PRAGMA", "ROLLBACK"))]
    assert len(queries) <= 1, queries  # SELECT version_num FROM shipyard_alembic_version
    assert elapsed < 0.5, elapsed
    again = Platform.open(project_dir)  # and the platform opens without migrating
    again.close()


def _dump(db: Database) -> tuple[list[tuple[str, ...]], dict[str, list[str]]]:
    with db.engine.connect() as conn:
        objects = sorted(
            tuple(r)
            for r in conn.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_autoindex%'"
            )
        )
        rows = {
            name: sorted(map(repr, conn.exec_driver_sql(f'SELECT * FROM "{name}"')))
            for kind, name, _t, _s in objects
            if kind == "table"
        }
    return objects, rows


def test_a_new_sqlite_database_is_built_exactly_as_the_migrations_build_it(
    tmp_path: Path,
) -> None:
    """``upgrade`` replays ``sqlite_template`` on an empty file: same objects, same rows."""
    migrated = Database(f"sqlite:///{tmp_path / 'alembic.db'}")
    copied = Database(f"sqlite:///{tmp_path / 'template.db'}")
    try:
        migrate._alembic_upgrade(migrated)
        upgrade(copied)
        expected = _dump(migrated)
        assert expected[0] and expected[1][migrate.VERSION_TABLE]
        assert _dump(copied) == expected
        upgrade(copied)  # current now: nothing replayed twice
        assert _dump(copied) == expected
    finally:
        migrated.dispose()
        copied.dispose()


def test_the_template_is_not_replayed_over_an_existing_schema(tmp_path: Path) -> None:
    """A database with tables but no version table goes to Alembic (which says so)."""
    db = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE someone_elses (id INTEGER)")
        assert migrate._copy_template(db) is False
        with db.engine.connect() as conn:
            names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master")}
        assert names == {"someone_elses"}
    finally:
        db.dispose()
