"""Lake/catalog reconcile and batch-id retries with the catalog on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.errors import BackendUnavailable
from shipyard.platform import Platform

pytestmark = pytest.mark.integration

ROWS = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]


def test_a_write_lost_between_delta_and_postgres_is_recovered_on_reopen(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"catalog": {"url": pg_url}}
    with Platform.open(tmp_path, **settings) as p:
        p.lake.write("silver.orders", ROWS, batch_id="b-1")
        with monkeypatch.context() as m:

            def crash(*_a: object, **_k: object) -> None:
                raise RuntimeError("crash after the Delta commit")

            m.setattr("shipyard.lake.records.record", crash)
            with pytest.raises(RuntimeError):
                p.lake.write("silver.orders", [{"id": 3, "v": "c"}], batch_id="b-2")
    with Platform.open(tmp_path, **settings) as p:
        info = p.lake.get_table("silver.orders")
        assert (info.version, info.num_rows) == (1, 3)
        rec = p.audit.list_records(action="lake.write.recovered").items
        assert [r.details["batch_id"] for r in rec] == ["b-2"]
        again = p.lake.write("silver.orders", [{"id": 3, "v": "c"}], batch_id="b-2")
        assert again.num_rows == 3 and p.audit.verify().ok


def test_a_locked_catalog_row_fails_fast_and_the_retry_writes_once(
    tmp_path: Path, pg_url: str
) -> None:
    with Platform.open(tmp_path, catalog={"url": pg_url}, lake={"catalog_wait": 0.5}) as p:
        p.lake.write("silver.orders", ROWS, batch_id="b-1")
        blocker = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
        with blocker.connect() as conn:
            conn.execute(sa.text("SELECT * FROM assets WHERE name = 'silver.orders' FOR UPDATE"))
            with pytest.raises(BackendUnavailable, match="committed in the lake"):
                p.lake.write("silver.orders", [{"id": 3, "v": "c"}], batch_id="b-2")
            conn.rollback()
        blocker.dispose()
        retry = p.lake.write("silver.orders", [{"id": 3, "v": "c"}], batch_id="b-2")
        assert (retry.version, retry.num_rows) == (1, 3)
        assert p.lake.read("silver.orders").num_rows == 3
        assert p.audit.list_records(action="lake.write.recovered").items
