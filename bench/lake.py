"""Lake speed against the raw libraries, in one run.

Measures (each beside its target from the lakehouse issue):

1. bulk append of N rows x 10 columns into bronze, from Arrow (``lake.write``) and from a
   Parquet file (``lake.ingest``), vs a bare ``write_deltalake`` of the same data
   (target: Shipyard throughput >= 0.8x bare);
2. incremental refresh after appending 1% new rows to an N-row bronze table vs a full
   refresh of the same definition (target: >= 20x faster);
3. a filtered aggregate with ``lake.sql`` over the Delta table vs the same DuckDB query on
   the bare Parquet files (target: within 1.3x);
4. CDC: ``apply_changes`` of N/10 changes into an N-row silver table vs a bare deltalake
   MERGE of the same changes (report);
5. ingest memory: peak RSS of a CSV ingest in a fresh process at several file sizes
   (target: fixed memory, not proportional to the file).

Usage: ``python bench/lake.py [--rows 10000000] [--csv-mb 500 1000 2000 5000]``;
writes ``bench/results/lake.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from shipyard.lake import Expectation, TableDefinition
from shipyard.platform import Platform

HERE = Path(__file__).parent
SECTIONS = ("append", "refresh", "sql", "cdc", "memory")


def table(rows: int, *, start: int = 0, seed: int = 1) -> pa.Table:
    """N rows x 10 columns: ids, keys, floats, ints, a timestamp and a low-cardinality string."""
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + rows, dtype=np.int64)
    return pa.table(
        {
            "id": ids,
            "customer_id": rng.integers(0, 100_000, rows),
            "amount": rng.gamma(2.0, 30.0, rows) - 5.0,
            "qty": rng.integers(1, 10, rows),
            "price": rng.random(rows) * 100,
            "discount": rng.random(rows),
            "store": rng.integers(0, 500, rows).astype(np.int32),
            "ts": pa.array(1_767_225_600_000_000 + ids * 1_000_000, pa.timestamp("us", tz="UTC")),
            "channel": pa.array(np.array(["web", "app", "store"])[rng.integers(0, 3, rows)]),
            "score": rng.random(rows).astype(np.float32),
        }
    )


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_append(work: Path, rows: int, rounds: int = 3) -> dict[str, Any]:
    data = table(rows)
    pq_file = work / "bulk.parquet"
    pq.write_table(data, pq_file)
    times: dict[str, list[float]] = {"bare": [], "ours": [], "bare_pq": [], "ours_pq": []}
    with Platform.open(work / "p_append") as p:
        for i in range(rounds):  # interleaved, so both sides see the same machine load
            times["bare"].append(
                timed(lambda i=i: write_deltalake(str(work / f"bare{i}"), data, mode="append"))[0]
            )
            times["ours"].append(timed(lambda i=i: p.lake.write(f"bronze.bulk{i}", data))[0])
            times["bare_pq"].append(
                timed(
                    lambda i=i: write_deltalake(
                        str(work / f"bare_pq{i}"), pq.read_table(pq_file), mode="append"
                    )
                )[0]
            )
            secs, r = timed(lambda i=i: p.lake.ingest(f"bronze.bulk_pq{i}", pq_file))
            assert r.rows_written == rows
            times["ours_pq"].append(secs)
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {
        "rows": rows,
        "columns": 10,
        "rounds": rounds,
        "statistic": "median of interleaved rounds",
        "bare_write_deltalake_s": round(med["bare"], 3),
        "shipyard_write_arrow_s": round(med["ours"], 3),
        "ratio_arrow": round(med["bare"] / med["ours"], 3),
        "bare_read_parquet_plus_write_s": round(med["bare_pq"], 3),
        "shipyard_ingest_parquet_s": round(med["ours_pq"], 3),
        "ratio_parquet": round(med["bare_pq"] / med["ours_pq"], 3),
        "rows_per_s_shipyard_arrow": int(rows / med["ours"]),
        "target": "ratio >= 0.8",
    }


def bench_refresh(work: Path, rows: int, rounds: int = 3) -> dict[str, Any]:
    with Platform.open(work / "p_refresh") as p:
        p.lake.write("bronze.orders", table(rows), batch_id="base")
        p.lake.define(
            TableDefinition(
                name="silver.orders",
                sql="SELECT id, customer_id, amount, qty * price AS gross, ts, channel "
                "FROM bronze.orders WHERE channel <> 'store'",
                expectations=[
                    Expectation.range("amount", min=0, action="quarantine"),
                    Expectation.not_null("customer_id"),
                ],
                incremental=True,
            )
        )
        first_s, _ = timed(lambda: p.lake.refresh("silver.orders"))
        extra = max(1, rows // 100)
        inc_times, full_times, rewrote = [], [], []
        for i in range(rounds):  # interleaved, so both sides see the same machine load
            p.lake.write(
                "bronze.orders",
                table(extra, start=rows + i * extra, seed=2 + i),
                batch_id=f"plus1pct-{i}",
            )
            inc_s, inc = timed(lambda: p.lake.refresh("silver.orders"))
            assert inc.mode == "incremental", inc
            full_s, full = timed(lambda: p.lake.refresh("silver.orders", full=True))
            assert full.mode == "full", full
            rewrote.append(full.version > inc.version)
            inc_times.append(inc_s)
            full_times.append(full_s)
        inc_med, full_med = float(np.median(inc_times)), float(np.median(full_times))
        refresh = {
            "bronze_rows": rows,
            "appended_rows_per_round": extra,
            "rounds": rounds,
            "statistic": "median of interleaved rounds (append 1%, incremental, full)",
            "first_full_refresh_s": round(first_s, 3),
            "incremental_refresh_s": round(inc_med, 3),
            "full_refresh_s": round(full_med, 3),
            "incremental_runs_s": [round(t, 3) for t in inc_times],
            "full_runs_s": [round(t, 3) for t in full_times],
            "speedup": round(full_med / inc_med, 1),
            "full_refresh_rewrote_table": all(rewrote),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "target": "speedup >= 20",
        }
    return refresh


def bench_sql(work: Path, rows: int) -> dict[str, Any]:
    query = (
        "SELECT channel, count(*) AS n, sum(amount) AS total FROM {t} "
        "WHERE customer_id < 5000 AND amount > 10 GROUP BY channel ORDER BY channel"
    )
    with Platform.open(work / "p_sql") as p:
        p.lake.write("bronze.orders", table(rows), batch_id="base")
        files = list(p.lake.storage.open("bronze.orders").file_uris())
        con = duckdb.connect()
        bare = query.format(t=f"read_parquet({files!r})")
        ours = query.format(t="bronze.orders")
        bare_times, ship_times = [], []
        for i in range(9):  # interleaved, so both see the same machine load
            b = timed(lambda: con.sql(bare).fetchall())[0]
            o = timed(lambda: p.lake.sql(ours))[0]
            if i >= 2:  # the first rounds warm the OS cache and DuckDB
                bare_times.append(b)
                ship_times.append(o)
    bare_s, ship_s = float(np.median(bare_times)), float(np.median(ship_times))
    return {
        "rows": rows,
        "query": query.format(t="<table>"),
        "bare_duckdb_parquet_s": round(bare_s, 4),
        "shipyard_sql_s": round(ship_s, 4),
        "ratio": round(ship_s / bare_s, 3),
        "target": "ratio <= 1.3",
        "statistic": "median of 7 interleaved runs",
    }


def bench_cdc(work: Path, rows: int) -> dict[str, Any]:
    base = table(rows).select(["id", "customer_id", "amount", "ts"])
    base = base.append_column("seq", pa.array(np.zeros(rows, dtype=np.int64)))
    n = max(1, rows // 10)
    rng = np.random.default_rng(3)
    ids = rng.choice(rows + n // 5, size=n, replace=False)  # mostly updates, some inserts
    changes = pa.table(
        {
            "id": ids.astype(np.int64),
            "customer_id": rng.integers(0, 100_000, n),
            "amount": rng.random(n) * 50,
            "ts": pa.array(np.full(n, 1_767_225_600_000_000), pa.timestamp("us", tz="UTC")),
            "seq": np.ones(n, dtype=np.int64),
            "op": pa.array(np.where(rng.random(n) < 0.05, "DELETE", "UPSERT")),
        }
    )
    write_deltalake(str(work / "bare_cdc"), base, mode="append")
    dt = DeltaTable(str(work / "bare_cdc"))

    def bare_merge() -> None:
        src = changes.append_column("is_del", pa.array(np.array(changes["op"]) == "DELETE"))
        (
            dt.merge(src, "t.id = s.id", source_alias="s", target_alias="t")
            .when_matched_delete("s.is_del")
            .when_matched_update_all("NOT s.is_del", except_cols=["op", "is_del"])
            .when_not_matched_insert_all("NOT s.is_del", except_cols=["op", "is_del"])
            .execute()
        )

    bare_s, _ = timed(bare_merge)
    with Platform.open(work / "p_cdc") as p:
        p.lake.write("silver.customers", base)
        ship_s, r = timed(
            lambda: p.lake.apply_changes(
                "silver.customers", changes, keys=["id"], sequence_by="seq", operation_column="op"
            )
        )
    return {
        "target_rows": rows,
        "changes": n,
        "bare_merge_s": round(bare_s, 3),
        "shipyard_apply_changes_s": round(ship_s, 3),
        "ratio": round(ship_s / bare_s, 3),
        "inserted": r.inserted,
        "updated": r.updated,
        "deleted": r.deleted,
        "target": "report (no threshold)",
    }


INGEST_CHILD = """
import resource, sys, time
from shipyard.platform import Platform
t = time.perf_counter()
with Platform.open(sys.argv[1]) as p:
    r = p.lake.ingest("bronze.big", sys.argv[2])
print(r.rows_written, time.perf_counter() - t,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_ingest_memory(work: Path, sizes_mb: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"files": []}
    line = "{i},{c},2026-01-01T00:00:00+00:00,{a:.2f},web,{q},note number {i}\n"
    for mb in sizes_mb:
        free_mb = shutil.disk_usage(work).free / 1e6
        if free_mb < mb * 2.5:  # the CSV, its Delta copy and some room
            out["files"].append({"csv_mb": mb, "skipped": f"only {free_mb:.0f} MB free"})
            continue
        path = work / f"big_{mb}.csv"
        with path.open("w") as f:
            f.write("order_id,customer_id,order_ts,amount,channel,qty,note\n")
            i = 0
            while f.tell() < mb * 1_000_000:
                f.write(
                    "".join(
                        line.format(i=j, c=j % 977, a=(j % 300) / 3, q=j % 7)
                        for j in range(i, i + 50_000)
                    )
                )
                i += 50_000
        load_before = os.getloadavg()[0]
        res = subprocess.run(
            [sys.executable, "-c", INGEST_CHILD, str(work / f"p_ing_{mb}"), str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows, secs, rss_kb = res.stdout.split()
        out["files"].append(
            {
                "csv_mb": round(path.stat().st_size / 1e6, 1),
                "rows": int(rows),
                "seconds": round(float(secs), 2),
                "mb_per_s": round(path.stat().st_size / 1e6 / float(secs), 1),
                "peak_rss_mb": round(int(rss_kb) / 1024, 1),
                "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            }
        )
        path.unlink()
        shutil.rmtree(work / f"p_ing_{mb}", ignore_errors=True)
    out["target"] = "peak RSS roughly constant as the file grows"
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--csv-mb", type=int, nargs="*", default=[500, 1000, 2000])
    ap.add_argument("--only", nargs="*", default=list(SECTIONS))
    args = ap.parse_args()
    results: dict[str, Any] = {"scale_rows": args.rows, "cpus": _cpus()}
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as tmp:
        work = Path(tmp)
        if "append" in args.only:
            results["bulk_append"] = bench_append(work, args.rows)
            print(json.dumps(results["bulk_append"]), flush=True)
        if "refresh" in args.only:
            results["incremental_refresh"] = bench_refresh(work, args.rows)
            print(json.dumps(results["incremental_refresh"]), flush=True)
        if "sql" in args.only:
            results["sql"] = bench_sql(work, args.rows)
            print(json.dumps(results["sql"]), flush=True)
        if "cdc" in args.only:
            results["cdc_merge"] = bench_cdc(work, args.rows)
            print(json.dumps(results["cdc_merge"]), flush=True)
        if "memory" in args.only:
            results["ingest_memory"] = bench_ingest_memory(work, args.csv_mb)
            print(json.dumps(results["ingest_memory"]), flush=True)
    results["bench_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    out = HERE / "results" / "lake.json"
    out.parent.mkdir(exist_ok=True)
    # Sections run with --only update their entries and keep the others'.
    previous = json.loads(out.read_text()) if out.exists() else {}
    if set(args.only) != set(SECTIONS):
        results = {**previous, **results, "scale_rows_last_run": args.rows}
        results["scale_rows"] = previous.get("scale_rows", args.rows)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
