"""Feature store benchmark: Shipyard vs Feast on the same generated data, in one run.

Data: the peer's generator (``shared/peers/feast/gen_data.py``): N feature rows over
100,000 drivers and 60 days (8 features, a created timestamp with ties), M entity rows,
TTL 7 days. Feast runs in its own virtualenv (``/tmp/venv-feast``, made by the peer's
``setup.sh``) through the peer's scripts; each step of either system runs in its own
process so peak memory is per step.

1. historical retrieval (8 features, TTL 7 d): wall time, peak RSS, and a row-by-row
   comparison with Feast's DuckDB offline store and the peer's ASOF reference;
2. materialize the 60 days into the embedded store and into Redis: entities/s;
3. online, in-process: 1 entity x 8 features and 100 entities, p50/p99 (embedded, Redis);
4. over HTTP on loopback, 1 entity: p50/p99 with a sequential keep-alive client, and
   requests/s with 16 concurrent clients, against ``shipyard serve`` and ``feast serve``.

Usage: ``python bench/features.py [--feature-rows 5000000] [--entity-rows 500000]
[--skip-feast] [--calls 2000] [--only sqlite,redis,http]``. Writes ``bench/results/features.json``
(with ``--only``, the named sections are merged into the previous results).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEER = Path(os.environ.get("FEAST_PEER_DIR", HERE.parent.parent / "shared" / "peers" / "feast"))
FEAST_PY = os.environ.get("FEAST_PY", "/tmp/venv-feast/bin/python")
BENCH_DIR = Path(os.environ.get("FEAST_BENCH_DIR", "/tmp/feast-bench"))
RESULTS = BENCH_DIR / "results"
PROJECT = BENCH_DIR / "shipyard"
FEATURES = {
    "conv_rate": "float32",
    "acc_rate": "float32",
    "avg_daily_trips": "int64",
    "rating": "float64",
    "trips_today": "int32",
    "earnings": "float64",
    "cancel_rate": "float32",
    "online_hours": "int32",
}
REDIS_URL = os.environ.get("SHIPYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q / 100 * len(s)))] * 1e6, 1)


def _lat(values: list[float]) -> dict[str, float]:
    return {"p50_us": _pct(values, 50), "p99_us": _pct(values, 99), "n": len(values)}


# -- Shipyard steps (each runs in its own process: ``features.py _step NAME``) -------------


def _platform(**overrides: Any) -> Any:
    from shipyard.platform import Platform

    return Platform.open(PROJECT, **overrides)


def step_setup() -> dict[str, Any]:
    import pyarrow.parquet as pq

    from shipyard.features import Entity, Feature, FeatureService, FeatureView

    p = _platform()
    t0 = time.perf_counter()
    p.lake.write(
        "gold.driver_stats",
        pq.read_table(BENCH_DIR / "data" / "driver_features.parquet"),
        mode="overwrite",
        schema_evolution=True,
    )
    load_s = time.perf_counter() - t0
    feats = [Feature(n, t) for n, t in FEATURES.items()]
    common = dict(
        entities=["driver"],
        source="gold.driver_stats",
        features=feats,
        timestamp_field="event_timestamp",
        created_timestamp_field="created",
    )
    from datetime import timedelta

    p.features.apply(
        [
            Entity(name="driver", join_keys=["driver_id"]),
            FeatureView(name="driver_stats", ttl=timedelta(days=7), **common),  # type: ignore[arg-type]
            # The data ends in 2024: online reads use a view without TTL so that values decode.
            FeatureView(name="driver_live", ttl=None, **common),  # type: ignore[arg-type]
            FeatureService(name="driver", features=["driver_live:*"]),
        ],
        force=True,
    )
    return {"lake_load_seconds": round(load_s, 2)}


def step_hist() -> dict[str, Any]:
    """Like the peer's ``bench_historical.py``: a pandas frame in, a pandas frame out;
    imports and opening the store happen before the clock starts (as Feast's do)."""
    import pandas as pd

    import shipyard.features.service
    import shipyard.lake.service  # noqa: F401 - imports are not what we measure

    p = _platform()
    p.features.list_definitions()  # opens the store, as FeatureStore(repo_path=...) does
    entity = pd.read_parquet(BENCH_DIR / "data" / "entities.parquet")
    t0 = time.perf_counter()
    df = p.features.get_historical_features(
        entity, features=[f"driver_stats:{f}" for f in FEATURES]
    )
    seconds = time.perf_counter() - t0
    df.to_parquet(RESULTS / "hist_shipyard.parquet", index=False)
    return {
        "seconds": round(seconds, 2),
        "rows_out": len(df),
        "peak_rss_mb": _rss_mb(),
        "non_null_conv_rate": int(df["conv_rate"].notna().sum()),
    }


def _online_latency(p: Any, calls: int) -> dict[str, Any]:
    import random

    rng = random.Random(42)
    get = p.features.get_online_features
    for _ in range(200):
        get(feature_service="driver", entity_rows=[{"driver_id": rng.randrange(100_000)}])
    one = []
    for _ in range(calls):
        rows = [{"driver_id": rng.randrange(100_000)}]
        t = time.perf_counter()
        get(feature_service="driver", entity_rows=rows)
        one.append(time.perf_counter() - t)
    hundred = []
    for _ in range(max(50, calls // 10)):
        rows = [{"driver_id": rng.randrange(100_000)} for _ in range(100)]
        t = time.perf_counter()
        r = get(feature_service="driver", entity_rows=rows)
        hundred.append(time.perf_counter() - t)
    present = sum(s == "PRESENT" for s in r.statuses["conv_rate"])
    return {"batch_1": _lat(one), "batch_100": _lat(hundred), "present_of_100": present}


def _materialize(p: Any) -> dict[str, Any]:
    import shipyard.lake.service  # noqa: F401 - imports are not what we measure

    p.features.get_view_status("driver_live")
    t0 = time.perf_counter()
    [res] = p.features.materialize(["driver_live"])
    s = time.perf_counter() - t0
    return {
        "seconds": round(s, 2),
        "entities": res.entities,
        "rows": res.rows,
        "entities_per_s": round(res.entities / s),
    }


def _check(p: Any, n: int = 500) -> dict[str, Any]:
    """Online values == the latest row per driver (greatest event time, then created)."""
    import duckdb

    ids = list(range(0, 100_000, 100_000 // n))
    got = p.features.get_online_features(
        feature_service="driver", entity_rows=[{"driver_id": i} for i in ids]
    ).to_dict()
    cols = ", ".join(FEATURES)
    rows = duckdb.sql(  # type: ignore[union-attr]
        f"SELECT driver_id, {cols} FROM read_parquet('{BENCH_DIR / 'data' / 'driver_features.parquet'}')"
        f" WHERE driver_id IN ({','.join(map(str, ids))}) QUALIFY row_number() OVER"
        " (PARTITION BY driver_id ORDER BY event_timestamp DESC, created DESC) = 1"
    ).fetchall()
    want = {r[0]: r[1:] for r in rows}
    bad = sum(
        1
        for i, d in enumerate(ids)
        for j, f in enumerate(FEATURES)
        if d in want and abs(float(got[f][i]) - float(want[d][j])) > 1e-6
    )
    return {"drivers_checked": len(want), "value_mismatches": bad}


def step_sqlite() -> dict[str, Any]:
    import shutil

    shutil.rmtree(PROJECT / ".shipyard" / "online.db", ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        (PROJECT / ".shipyard" / f"online.db{suffix}").unlink(missing_ok=True)
    p = _platform()
    with p.context.db.begin() as conn:  # start from an empty watermark
        from shipyard.features.tables import feature_materializations

        conn.execute(feature_materializations.delete())
    out: dict[str, Any] = {"materialize": _materialize(p)}
    out["online_check"] = _check(p)
    out["online"] = _online_latency(p, CALLS)
    out["peak_rss_mb"] = _rss_mb()
    return out


def step_redis() -> dict[str, Any]:
    from shipyard.features.online import namespace

    prefix = f"shipyard-bench:{uuid.uuid4().hex[:8]}"
    p = _platform(online={"backend": "redis", "url": REDIS_URL, "key_prefix": prefix})
    with p.context.db.begin() as conn:
        from shipyard.features.tables import feature_materializations

        conn.execute(feature_materializations.delete())
    try:
        out = {"materialize": _materialize(p), "online": _online_latency(p, CALLS)}
    finally:
        view = p.features.get_definition("feature_view", "driver_live")
        p.features.online_store.delete_namespace(namespace(view))
    return out


def _scale_platform() -> Any:
    from shipyard.platform import Platform

    return Platform.open(BENCH_DIR / "shipyard-scale")


def step_scale_load() -> dict[str, Any]:
    """SCALE_ROWS feature rows over 100,000 drivers and 60 days, generated in DuckDB and
    streamed into the lake (kept for the next run at the same scale)."""
    import duckdb

    from shipyard.features import Entity, Feature, FeatureView

    p = _scale_platform()
    done = BENCH_DIR / "shipyard-scale" / "loaded.json"
    if done.exists() and json.loads(done.read_text()).get("feature_rows") == SCALE_ROWS:
        return {**json.loads(done.read_text()), "reused": True}
    feats = ", ".join(
        f"CAST(random() * 100 AS {'DOUBLE' if t.startswith('float') else 'BIGINT'}) AS {n}"
        for n, t in FEATURES.items()
    )
    gen = (
        "SELECT CAST(floor(random() * 100000) AS BIGINT) AS driver_id, "
        "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(CAST(floor(random() * 5184000) AS BIGINT))"
        f" AS event_timestamp, {feats} FROM range({SCALE_ROWS})"
    )
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SELECT setseed(0.42)").fetchall()
    p.lake.write(
        "gold.scale",
        con.sql(gen).to_arrow_reader(1_000_000),
        mode="overwrite",
        schema_evolution=True,
    )
    p.features.apply(
        [
            Entity(name="driver", join_keys=["driver_id"]),
            FeatureView(
                name="scale",
                entities=["driver"],
                source="gold.scale",
                timestamp_field="event_timestamp",
                ttl=timedelta(days=7),
                features=[
                    Feature(n, "float64" if t.startswith("float") else "int64")
                    for n, t in FEATURES.items()
                ],
            ),
        ]
    )
    out = {
        "feature_rows": SCALE_ROWS,
        "load_seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_mb": _rss_mb(),
    }
    done.write_text(json.dumps(out))
    return out


def step_scale_hist() -> dict[str, Any]:
    """Point-in-time retrieval of the 8 features for SCALE_ROWS / 10 entity rows, in a
    process of its own (its peak memory is the retrieval's)."""
    import duckdb

    p = _scale_platform()
    con = duckdb.connect()
    con.execute("SELECT setseed(0.24)").fetchall()
    ent = con.sql(
        "SELECT CAST(floor(random() * 100000) AS BIGINT) AS driver_id, TIMESTAMPTZ "
        "'2024-01-01 00:00:00+00' + to_seconds(CAST(floor(random() * 5270400) AS BIGINT)) AS "
        f"event_timestamp FROM range({SCALE_ROWS // 10})"
    ).to_arrow_table()
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    out = p.features.get_historical_table(ent, features=[f"scale:{f}" for f in FEATURES])
    return {
        "entity_rows": ent.num_rows,
        "seconds": round(time.perf_counter() - t0, 1),
        "rows_out": out.num_rows,
        "non_null_conv_rate": out.num_rows - out.column("conv_rate").null_count,
        "peak_rss_mb_before": rss_before,
        "peak_rss_mb": _rss_mb(),
    }


def step_scale_materialize() -> dict[str, Any]:
    """The latest row per driver of the whole table into the embedded online store."""
    import shipyard.lake.service  # noqa: F401 - imports are not what we measure

    p = _scale_platform()
    with p.context.db.begin() as conn:  # from an empty watermark
        from shipyard.features.tables import feature_materializations

        conn.execute(feature_materializations.delete())
    t0 = time.perf_counter()
    [res] = p.features.materialize(["scale"])
    s = time.perf_counter() - t0
    return {
        "seconds": round(s, 2),
        "rows": res.rows,
        "entities": res.entities,
        "rows_per_s": round(res.rows / s),
        "peak_rss_mb": _rss_mb(),
    }


STEPS = {
    "setup": step_setup,
    "hist": step_hist,
    "sqlite": step_sqlite,
    "redis": step_redis,
    "scale_load": step_scale_load,
    "scale_hist": step_scale_hist,
    "scale_materialize": step_scale_materialize,
}
SCALE_ROWS = 50_000_000
CALLS = 2000


# -- HTTP ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _http_run(
    port: int, path: str, bodies: list[bytes], headers: dict[str, str]
) -> tuple[list[float], int]:
    """Latencies of the successful requests, and how many failed (reconnecting after each)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat, errors = [], 0
    for body in bodies:
        t = time.perf_counter()
        try:
            conn.request("POST", path, body, headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        if resp.status != 200:
            errors += 1
            continue
        lat.append(time.perf_counter() - t)
    conn.close()
    return lat, errors


def _http_bench(
    port: int, path: str, body_of: Any, headers: dict[str, str], calls: int
) -> dict[str, Any]:
    import random

    rng = random.Random(7)
    bodies = [body_of(rng.randrange(100_000)) for _ in range(calls + 200)]
    seq, seq_errors = _http_run(port, path, bodies, headers)
    seq = seq[200:]
    results: list[tuple[list[float], int]] = []
    per_client = max(100, calls // 8)

    def client() -> None:
        results.append(_http_run(port, path, bodies[:per_client], headers))

    threads = [threading.Thread(target=client) for _ in range(16)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    merged = [x for r, _ in results for x in r]
    errors = sum(e for _, e in results)
    return {
        "sequential": {**_lat(seq), "errors": seq_errors},
        "concurrent_16": {"rps": round(len(merged) / wall), **_lat(merged), "errors": errors},
    }


def http_shipyard() -> dict[str, Any]:
    p = _platform()
    token = p.security.create_token(name=f"bench-{uuid.uuid4().hex[:6]}").token
    p.features.materialize(["driver_live"])  # no-op when already materialized
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard.cli.main",
            "-C",
            str(PROJECT),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait(port, proc)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        return _http_bench(
            port,
            "/api/v1/features/online",
            lambda d: json.dumps(
                {"feature_service": "driver", "entity_rows": [{"driver_id": d}]}
            ).encode(),
            headers,
            CALLS,
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def http_feast() -> dict[str, Any]:
    port = _free_port()
    repo = BENCH_DIR / "repo_duckdb"
    feast_cli = str(Path(FEAST_PY).parent / "feast")
    proc = subprocess.Popen(
        [feast_cli, "serve", "-h", "127.0.0.1", "-p", str(port), "--no-access-log"],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    refs = [f"driver_stats:{f}" for f in FEATURES]
    try:
        _wait(port, proc)
        time.sleep(2)
        return _http_bench(
            port,
            "/get-online-features",
            lambda d: json.dumps({"features": refs, "entities": {"driver_id": [d]}}).encode(),
            {"Content-Type": "application/json"},
            CALLS,
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


# -- orchestration ---------------------------------------------------------------------------


def _sub(args: list[str], env: dict[str, str], timeout: int = 3600) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        return {
            "error": (out.stderr or out.stdout)[-600:],
            "wall_seconds": round(time.perf_counter() - t0, 2),
        }
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    return json.loads(lines[-1][7:]) if lines else {"stdout": out.stdout[-600:]}


def _feast_step(script: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    name = {"gen_data.py": "gen_data", "make_repo.py": "repo_duckdb"}.get(script)
    t0 = time.perf_counter()
    run = subprocess.run(
        [FEAST_PY, script, *args], cwd=PEER, env=env, capture_output=True, text=True
    )
    wall = round(time.perf_counter() - t0, 2)
    if run.returncode != 0:
        return {"error": run.stderr[-600:], "wall_seconds": wall}
    files = {
        "bench_historical.py": "hist_duckdb",
        "bench_duckdb_asof.py": "asof",
        "compare.py": "compare",
    }
    key = name or files.get(script) or f"{args[0]}_{args[1]}"
    if script == "bench_online.py":
        key = {"materialize": "materialize_duckdb", "latency": "online_latency_duckdb"}[args[0]]
    path = RESULTS / f"{key}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    return {**data, "wall_seconds": wall}


def _gen_data(rows: int, entities: int, env: dict[str, str]) -> dict[str, Any]:
    """The peer's generator (fixed seed); kept when the data at this scale is there."""
    done = RESULTS / "gen_data.json"
    if done.exists() and (BENCH_DIR / "data" / "driver_features.parquet").exists():
        data = json.loads(done.read_text())
        if (data.get("feature_rows"), data.get("entity_rows")) == (rows, entities):
            return {**data, "reused": True}
    return _feast_step("gen_data.py", env=env)


def compare() -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    out = {}
    cond = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in FEATURES)
    for ref in ("asof", "duckdb"):
        path = RESULTS / f"hist_{ref}.parquet"
        if not path.exists():
            continue
        n, bad = con.execute(  # type: ignore[misc]
            f"SELECT count(*), count(*) FILTER (WHERE {cond}) FROM read_parquet('{path}') a "
            f"JOIN read_parquet('{RESULTS / 'hist_shipyard.parquet'}') b "
            "USING (driver_id, event_timestamp)"
        ).fetchone()
        out[f"vs_{ref}"] = {"rows_joined": n, "rows_differing": bad}
    return out


def main() -> int:
    global CALLS
    ap = argparse.ArgumentParser()
    ap.add_argument("--feature-rows", type=int, default=5_000_000)
    ap.add_argument("--entity-rows", type=int, default=500_000)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--skip-feast", action="store_true")
    ap.add_argument(
        "--scale-only",
        type=int,
        default=0,
        help="only the scale run: this many feature rows (entity rows: a tenth)",
    )
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated sections to run (setup,hist,compare,sqlite,redis,http,"
        "feast.hist,feast.materialize,feast.online,feast.http); merged into the last results",
    )
    ap.add_argument("_step", nargs="?")
    a = ap.parse_args()
    CALLS = a.calls
    if a.scale_only:
        global SCALE_ROWS
        SCALE_ROWS = a.scale_only
    if a._step:
        fn = {**STEPS, "http_shipyard": http_shipyard, "http_feast": http_feast}[a._step]
        print("RESULT " + json.dumps(fn(), default=str), flush=True)
        return 0
    env = {
        **os.environ,
        "N_FEATURE_ROWS": str(a.feature_rows),
        "N_ENTITY_ROWS": str(a.entity_rows),
        "FEAST_BENCH_DIR": str(BENCH_DIR),
        "PYTHONPATH": str(HERE.parent / "src"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, __file__, "--calls", str(a.calls)]
    if a.scale_only:
        result = {
            step: _sub([*me, "--scale-only", str(a.scale_only), step], env, timeout=3000)
            for step in ("scale_load", "scale_hist", "scale_materialize")
        }
        print(json.dumps(result))
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "features_scale.json").write_text(json.dumps(result, indent=2))
        return 0
    report: dict[str, Any] = {
        "scale": {
            "feature_rows": a.feature_rows,
            "entity_rows": a.entity_rows,
            "drivers": 100_000,
            "days": 60,
            "ttl_days": 7,
        }
    }
    steps: list[tuple[str, Any]] = []
    if not a.skip_feast:
        steps += [
            ("feast.gen_data", lambda: _gen_data(a.feature_rows, a.entity_rows, env)),
            ("feast.repo", lambda: _feast_step("make_repo.py", "duckdb", env=env)),
            ("feast.hist_duckdb", lambda: _feast_step("bench_historical.py", "duckdb", env=env)),
            ("feast.hist_asof", lambda: _feast_step("bench_duckdb_asof.py", env=env)),
        ]
    steps += [
        ("shipyard.setup", lambda: _sub([*me, "setup"], env)),
        ("shipyard.hist", lambda: _sub([*me, "hist"], env)),
        ("shipyard.compare", compare),
        ("shipyard.sqlite", lambda: _sub([*me, "sqlite"], env)),
        ("shipyard.redis", lambda: _sub([*me, "redis"], env)),
        ("shipyard.http", lambda: _sub([*me, "http_shipyard"], env)),
    ]
    if not a.skip_feast:
        steps += [
            (
                "feast.materialize",
                lambda: _feast_step("bench_online.py", "materialize", "duckdb", env=env),
            ),
            (
                "feast.online",
                lambda: _feast_step("bench_online.py", "latency", "duckdb", str(a.calls), env=env),
            ),
            ("feast.http", lambda: _sub([*me, "http_feast"], env)),
        ]
    only = {x.strip() for x in a.only.split(",") if x.strip()}
    if only:
        alias = {"feast.hist": "feast.hist_duckdb"}
        want = {alias.get(n, n if n.startswith("feast.") else f"shipyard.{n}") for n in only}
        steps = [(n, f) for n, f in steps if n in want]
        old = HERE / "results" / "features.json"
        if old.exists():
            report = {**json.loads(old.read_text()), **report}
    for name, fn in steps:
        report[f"load_avg_1m.{name}"] = round(os.getloadavg()[0], 2)
        print(f"== {name} ({time.strftime('%H:%M:%S')}, load {os.getloadavg()[0]:.1f})", flush=True)
        report[name] = fn()
        print(json.dumps(report[name], default=str)[:400], flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "features.json").write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
