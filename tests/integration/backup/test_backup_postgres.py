"""A PostgreSQL catalog is backed up with pg_dump in one snapshot and restored into a new
database or into an embedded (SQLite) project."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from shipyard.backup.archive import Archive
from shipyard.backup.restore import restore as restore_point
from shipyard.catalog import migrate
from shipyard.cli.main import run
from shipyard.errors import Conflict
from shipyard.platform import Platform
from tests.unit.backup.conftest import ingest

#: Restores with this platform (the backup package does not import it).
restore = partial(restore_point, open_platform=Platform.open)


@pytest.fixture
def new_db(pg_server_url: str) -> Iterator[str]:
    import psycopg

    name = f"shipyard_r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgres_catalog_round_trip(tmp_path: Path, pg_url: str, new_db: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with Platform.open(src, catalog={"url": pg_url}) as p:
        ingest(p, tmp_path, [1, 2, 3])
        ingest(p, tmp_path, [4])
        p.backends.artifacts.get().put_bytes(b"weights", "e/r/artifacts/model.bin")
        point = p.backup.create_backup()
        assert point.catalog_dialect == "postgresql"
        assert p.backup.verify_backup(point.id).ok
        archive = Archive(p.backends.backups.get())
        # The source database is not empty: restoring into it is refused.
        with pytest.raises(Conflict, match="not empty"):
            restore(archive, point.id, tmp_path / "busy", catalog_url=pg_url)
        report = restore(archive, point.id, tmp_path / "dst", catalog_url=new_db)
    assert not (tmp_path / "busy").exists()
    assert report.tables == len(point.tables)
    with Platform.open(tmp_path / "dst") as q:
        assert q.settings.catalog_url == new_db
        table = q.lake.get_table("bronze.events")
        assert (table.version, table.num_rows) == (1, 4)
        assert q.backends.artifacts.get().get_bytes("e/r/artifacts/model.bin") == b"weights"
        assert q.audit.verify().problem is None


def test_an_embedded_catalog_moves_into_postgres(tmp_path: Path, new_db: str) -> None:
    """A SQLite restore point restores into a new PostgreSQL database: every row, the
    audit chain intact, and new rows get fresh ids after the copied ones."""
    src = tmp_path / "src"
    src.mkdir()
    with Platform.open(src) as p:
        ingest(p, tmp_path, [1, 2, 3])
        ingest(p, tmp_path, [4])
        p.security.create_principal("ann", team="ml", role="editor")
        audited = p.audit.list_records(limit=1000).items  # the backup's own record comes after
        point = p.backup.create_backup()
        assert point.catalog_dialect == "sqlite"
        archive = Archive(p.backends.backups.get())
    report = restore(archive, point.id, tmp_path / "dst", catalog_url=new_db)
    assert report.tables == len(point.tables)
    with Platform.open(tmp_path / "dst") as q:
        assert q.settings.catalog_url == new_db
        table = q.lake.get_table("bronze.events")
        assert (table.version, table.num_rows) == (1, 4)
        assert "ml" in q.security.get_principal("ann").roles
        assert [r.id for r in q.audit.list_records(limit=1000).items] == [r.id for r in audited]
        assert q.audit.verify().problem is None
        q.security.create_principal("bob", team="ml", role="viewer")  # ids continue
        assert q.audit.verify().problem is None


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _fit() -> LogisticRegression:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(30), "b": rng.random(30)})
    return LogisticRegression().fit(X, (X.a > 0.5).astype(int))


def test_a_postgres_point_restores_into_an_embedded_project(tmp_path: Path, pg_url: str) -> None:
    """A pg_dump restore point restores into an empty SQLite project, read without a
    server: the same assets, runs, metrics, models and aliases, the audit chain intact,
    text search and the model working, and new rows get ids after the copied ones."""
    src = tmp_path / "src"
    src.mkdir()
    X = pd.DataFrame({"a": [0.1, 0.9], "b": [0.5, 0.5]})
    with Platform.open(src, catalog={"url": pg_url}) as p:
        ingest(p, tmp_path, [1, 2, 3])
        ingest(p, tmp_path, [4])
        p.security.create_principal("ann", team="ml", role="editor")
        with p.tracking.start_run(experiment="pg2sqlite", capture_source=False) as run:
            run.log_params({"C": "1.0", "note": "tab\tand\\n\nline"})  # COPY escapes
            for step, value in enumerate([0.5, 0.25, float("nan")]):
                run.log_metric("loss", value, step=step)
            run.log_model(_fit(), "model")
        p.registry.register_model("churn", f"runs:/{run.id}/model")
        p.registry.set_alias("churn", "live", 1)
        expected = p.registry.load_model("models:/churn@live").predict(X)
        audited = p.audit.list_records(limit=1000).items
        assets = sorted((a.kind, a.name, a.version) for a in p.catalog.search(limit=1000).items)
        engine = sa.create_engine(_driver(pg_url))
        with engine.begin() as conn:  # another schema in the database is not the catalog's
            conn.execute(sa.text("CREATE SCHEMA other"))
            conn.execute(sa.text("CREATE TABLE other.assets (id text, stray text)"))
            conn.execute(sa.text("INSERT INTO other.assets VALUES ('x', 'y')"))
        engine.dispose()
        searched = sorted(a.name for a in p.catalog.search("quarantine").items)
        history = [(m.step, m.value) for m in p.tracking.get_metric_history(run.id, "loss")]
        point = p.backup.create_backup()
        assert (point.catalog_dialect, point.catalog_schema) == ("postgresql", "public")
        assert p.backup.verify_backup(point.id).ok
        archive = Archive(p.backends.backups.get())
    report = restore(archive, point.id, tmp_path / "dst")  # no --catalog-url: embedded
    assert report.catalog_url.startswith("sqlite")
    with Platform.open(tmp_path / "dst") as q:
        assert q.settings.catalog_url.startswith("sqlite")
        got = sorted((a.kind, a.name, a.version) for a in q.catalog.search(limit=1000).items)
        assert got == assets
        found = sorted(a.name for a in q.catalog.search("quarantine").items)  # the FTS index
        assert found == searched and "bronze.events__quarantine" in found
        table = q.lake.get_table("bronze.events")
        assert (table.version, table.num_rows) == (1, 4)
        assert "ml" in q.security.get_principal("ann").roles
        restored = q.tracking.get_run(run.id)
        assert (
            restored.params == {"C": "1.0", "note": "tab\tand\\n\nline"}
            and restored.status == "FINISHED"
        )
        loss = [(m.step, m.value) for m in q.tracking.get_metric_history(run.id, "loss")]
        assert loss[:2] == history[:2] and math.isnan(loss[2][1]) and len(loss) == 3
        model = q.registry.get_registered_model("churn")
        assert model.aliases == {"live": 1}
        np.testing.assert_array_equal(
            q.registry.load_model("models:/churn@live").predict(X), expected
        )
        records = q.audit.list_records(limit=1000).items
        assert [(r.id, r.ts, r.details) for r in records] == [
            (r.id, r.ts, r.details) for r in audited
        ]
        assert q.audit.verify().problem is None
        q.security.create_principal("bob", team="ml", role="viewer")  # ids continue
        assert q.audit.verify().problem is None
        again = q.backup.create_backup()  # the restored project backs up and verifies
        assert again.catalog_dialect == "sqlite" and q.backup.verify_backup(again.id).ok


def test_a_point_of_another_schema_is_refused_in_one_line(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``shipyard backup restore`` of a PostgreSQL point into an embedded project, made
    by another release: one line, exit 1, nothing left behind."""
    src = tmp_path / "src"
    src.mkdir()
    with Platform.open(src, catalog={"url": pg_url}) as p:
        engine = sa.create_engine(_driver(pg_url))
        with engine.begin() as conn:  # as if made by another release
            conn.execute(
                sa.text(
                    f"UPDATE {migrate.VERSION_TABLE} SET version_num = 'x_0001' WHERE "
                    f"version_num = (SELECT min(version_num) FROM {migrate.VERSION_TABLE})"
                )
            )
        engine.dispose()
        point = p.backup.create_backup()
        root = p.settings.backup_root
    dst = tmp_path / "dst"
    assert run(["backup", "restore", point.id, "--from", root, "--into", str(dst)]) == 1
    out, err = capsys.readouterr()
    lines = (out + err).strip().splitlines()
    assert len(lines) == 1 and "another release (revisions x_0001)" in lines[0], lines
    assert not dst.exists()
