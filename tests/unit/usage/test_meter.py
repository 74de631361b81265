"""The hour's rows the meter builds from the inference log and the online store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from shipyard.usage import meter

HOUR = datetime(2026, 12, 5, 10, tzinfo=UTC)


def _log() -> pa.Table:
    rows = [
        # request r1: two rows, one latency; r2; a shadow copy; one from the hour after
        ("r1", 0, HOUR + timedelta(minutes=1), "churn", False, 10.0),
        ("r1", 1, HOUR + timedelta(minutes=1), "churn", False, 10.0),
        ("r2", 0, HOUR + timedelta(minutes=2), "churn", False, 30.0),
        ("r2", 0, HOUR + timedelta(minutes=2), "churn", True, 99.0),
        ("r3", 0, HOUR + timedelta(minutes=70), "churn", False, 50.0),
        ("r4", 0, HOUR + timedelta(minutes=3), "orphan", False, 5.0),
    ]
    names = ["request_id", "row", "ts", "deployment", "shadow", "latency_ms"]
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


def test_deployment_rows_count_requests_and_sum_latency_per_hour() -> None:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA datasets")
    log = _log()
    con.register("log_view", log)
    con.execute("CREATE TABLE datasets.inference_log AS SELECT * FROM log_view")

    def sql(query: str) -> list[dict[str, Any]]:
        return con.sql(query).arrow().read_all().to_pylist()

    rows = meter.deployment_rows(sql, {"churn": ("ml", "vera")}, HOUR)
    got = {r["resource"]: r for r in rows}
    churn = got["deployment:churn"]
    assert (churn["team"], churn["principal"], churn["kind"]) == ("ml", "vera", "deployment")
    assert (churn["requests"], churn["compute_seconds"]) == (2, 0.04)  # shadow not billed
    assert (got["deployment:orphan"]["team"], got["deployment:orphan"]["requests"]) == ("-", 1)


class _Store:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def count(self, namespace: str) -> int:
        return self.counts[namespace]


def test_online_rows_and_idle_capacity() -> None:
    rows = meter.online_rows(
        _Store({"v:abc": 7}),  # type: ignore[arg-type]
        [("v", "v:abc", "ml", "vera")],
        HOUR,
    )
    assert [(r["resource"], r["online_rows"], r["team"]) for r in rows] == [
        ("feature_view:v", 7, "ml")
    ]
    jobs = [meter.row(HOUR, "ml", "vera", "job", "job:x", cpu_seconds=100.0)]
    idle = meter.idle_row(HOUR, jobs, cores=2)
    assert (idle["kind"], idle["cpu_seconds"], idle["team"]) == ("idle", 7100.0, "-")
    assert meter.idle_row(HOUR, jobs * 100, cores=1)["cpu_seconds"] == 0.0  # never negative
