"""core_0002 hashes the audit rows a catalog already holds, in id order.

``snapshots/sqlite_before_core_0002.sql`` is a catalog written by the release
before the chain (every branch at its head then, four audit rows).
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from shipyard._internal.db import Database
from shipyard.catalog.migrate import upgrade
from shipyard.governance.tables import audit_log
from shipyard.platform import Platform
from tests.unit.migrations.schema_check import schema_diff

SNAPSHOT = Path(__file__).parent / "snapshots" / "sqlite_before_core_0002.sql"


def _restore(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(SNAPSHOT.read_text())
    con.close()


def test_upgrading_a_stored_catalog_chains_its_audit_rows(project_dir: Path) -> None:
    home = project_dir / ".shipyard"
    home.mkdir()
    _restore(home / "catalog.db")
    db = Database(f"sqlite:///{home / 'catalog.db'}")
    try:
        upgrade(db)
        assert schema_diff(db) == []
        with db.connect() as conn:
            rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    finally:
        db.dispose()
    assert [r.id for r in rows] == [1, 2, 3, 4]
    assert rows[0].prev_hash == "0" * 64
    assert all(r.prev_hash == before.row_hash for before, r in itertools.pairwise(rows))
    with Platform.open(project_dir) as p:
        report = p.audit.verify()
        assert report.ok and report.rows_checked == 4
        p.catalog.register_asset("table:bronze.after")  # new rows extend the old chain
        report = p.audit.verify()
        assert report.ok and report.rows_checked == 5 and report.head_id == 5
        with p.context.db.begin() as conn:
            conn.execute(audit_log.update().where(audit_log.c.id == 2).values(principal="mallory"))
        problem = p.audit.verify().problem
        assert problem is not None and (problem.id, problem.kind) == (2, "edited")
