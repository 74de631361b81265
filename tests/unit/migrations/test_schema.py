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
    assert len(queries) <= 1, queries  # SELECT version_num FROM alembic_version
    assert elapsed < 0.5, elapsed
    again = Platform.open(project_dir)  # and the platform opens without migrating
    again.close()
