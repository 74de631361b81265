from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from shipyard.security.models import Role


def test_sql_over_layers_and_pinned_versions(platform: Platform, raw_dir: Path) -> None:
    platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    platform.lake.write("bronze.orders", [{"order_id": 99, "customer_id": 1, "amount": 1.0}])
    t = platform.lake.sql(
        "SELECT count(*) AS n, sum(amount) AS s FROM bronze.orders WHERE amount > 0"
    )
    assert t.to_pylist() == [{"n": 6, "s": 93.5}]
    pinned = platform.lake.sql(
        "SELECT count(*) AS n FROM bronze.orders", versions={"bronze.orders": 0}
    )
    assert pinned["n"][0].as_py() == 6
    joined = platform.lake.sql(
        "WITH o AS (SELECT * FROM bronze.orders) SELECT count(*) AS n FROM o "
        "JOIN bronze.orders__quarantine q ON true"
    )
    assert joined["n"][0].as_py() == 7 * 2


def test_sql_errors(platform: Platform, raw_dir: Path) -> None:
    platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    with pytest.raises(InvalidArgument, match="syntax error"):
        platform.lake.sql("SELECT FROM WHERE")
    with pytest.raises(NotFound):
        platform.lake.sql("SELECT * FROM silver.missing")
    with pytest.raises(InvalidArgument, match="only one SELECT or WITH query"):
        platform.lake.sql("DELETE FROM bronze.orders")
    with pytest.raises(InvalidArgument, match="query failed"):
        platform.lake.sql("SELECT no_such_column FROM bronze.orders")


def test_write_append_overwrite_and_time_travel(platform: Platform) -> None:
    df = pd.DataFrame({"customer_id": [1, 2], "score": [0.1, 0.2]})
    info = platform.lake.write("datasets.scores", df)
    assert (info.version, info.num_rows) == (0, 2)
    t0 = datetime.now(UTC)
    time.sleep(0.05)
    info = platform.lake.write("datasets.scores", pa.table({"customer_id": [3], "score": [0.3]}))
    assert (info.version, info.num_rows) == (1, 3)
    info = platform.lake.write(
        "datasets.scores", {"customer_id": [9], "score": [0.9]}, mode="overwrite"
    )
    assert (info.version, info.num_rows) == (2, 1)
    assert platform.lake.read("datasets.scores", version=1).num_rows == 3
    assert platform.lake.read("datasets.scores", as_of=t0).num_rows == 2
    as_of = platform.lake.sql("SELECT count(*) AS n FROM datasets.scores", as_of=t0)
    assert as_of["n"][0].as_py() == 2
    assert platform.lake.read("datasets.scores", filter="score > 0.5").num_rows == 1
    with pytest.raises(NotFound):
        platform.lake.read("datasets.scores", version=7)
    with pytest.raises(InvalidArgument, match="column 'score'"):
        platform.lake.write("datasets.scores", {"customer_id": [1], "score": ["high"]})
    hist = platform.lake.history("datasets.scores")
    assert [h.version for h in hist] == [2, 1, 0]
    assert hist[0].principal == "local-admin" and hist[1].rows_added == 1
    restored = platform.lake.restore("datasets.scores", version=1)
    assert (restored.version, restored.num_rows) == (3, 3)
    assert platform.catalog.get_asset("table:datasets.scores").version == 3
    assert platform.audit.list_records(action="lake.restore").items[0].outcome == "ok"


def test_bronze_write_is_idempotent(platform: Platform) -> None:
    rows = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]
    first = platform.lake.write("bronze.push", rows)
    second = platform.lake.write("bronze.push", rows)
    assert first.version == second.version == 0 and second.num_rows == 2
    t = platform.lake.read("bronze.push")
    assert set(t.column("_source").to_pylist()) == {"api"}


def test_optimize_and_vacuum_guard(platform: Platform) -> None:
    for i in range(3):
        platform.lake.write("gold.small", {"id": [i]})
    res = platform.lake.optimize("gold.small")
    assert res.metrics["numFilesRemoved"] == 3 and res.version == 3
    assert platform.lake.read("gold.small").num_rows == 3
    with pytest.raises(InvalidArgument, match="guard"):
        platform.lake.vacuum("gold.small", retention_hours=0)
    v = platform.lake.vacuum("gold.small", retention_hours=0, force=True, dry_run=True)
    assert v.metrics["files_deleted"] == 3


def test_viewer_can_query_not_write(platform: Platform, raw_dir: Path) -> None:
    platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    viewer = platform.security.create_principal("vic", team="default", role=Role.VIEWER)
    as_viewer = platform.as_principal(viewer)
    assert as_viewer.lake.sql("SELECT count(*) AS n FROM bronze.orders")["n"][0].as_py() == 6
    with pytest.raises(PermissionDenied):
        as_viewer.lake.ingest("bronze.orders", raw_dir / "orders.csv", batch_id="x")
    with pytest.raises(PermissionDenied):
        as_viewer.lake.write("bronze.orders", [{"order_id": 1}])
    denied = platform.audit.list_records(outcome="denied").items
    assert denied and denied[0].principal == "vic"
    outsider = platform.security.create_principal("oscar", team="other", role=Role.EDITOR)
    with pytest.raises(PermissionDenied):
        platform.as_principal(outsider).lake.sql("SELECT * FROM bronze.orders")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/hosts')",
        "SELECT count(*) FROM bronze.orders, read_parquet('/tmp/*.parquet')",
    ],
)
def test_sql_cannot_touch_files_outside_the_lake(
    platform: Platform, raw_dir: Path, query: str
) -> None:
    platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    with pytest.raises(InvalidArgument, match="not allowed"):
        platform.lake.sql(query)
    with pytest.raises(InvalidArgument):
        platform.lake.read("bronze.orders", filter="1=1) TO '/tmp/x.csv' (")
