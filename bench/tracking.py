"""Tracking and registry: Shipyard against MLflow, same machine, same run.

For each metadata backend (SQLite, and PostgreSQL when reachable) both sides are
measured by the same phases:

1. ``log_metric`` in-process, per call (Shipyard: ``ActiveRun.log_metric``, queued
   and written in batches; MLflow: ``mlflow.log_metric``, and with ``synchronous=False``).
2. Create ``N_API`` runs through the API, each with 10 params and 10 metrics.
3. Bulk-load runs (same shapes, direct SQL into each side's own tables) up to
   ``N_RUNS``, then ``search_runs`` with a metric filter and ordering: first page
   (100 runs), cold and warm.
4. Register a model version (log a small scikit-learn model, then register it).
5. Over HTTP: server start to first answered request, idle RSS, ``log_batch``
   throughput (10 x 1,000 metrics) and per-request ``log_metric`` latency.

MLflow runs in its own virtualenv (``MLFLOW_PY``, default ``/tmp/venv-mlflow/bin/python``;
``python3 -m venv /tmp/venv-mlflow && /tmp/venv-mlflow/bin/pip install mlflow
scikit-learn psycopg2-binary``): this file re-executes itself there with ``--mlflow``.

Usage: ``python bench/tracking.py`` (knobs: ``N_RUNS``=100000, ``N_API``=300,
``N_LOG_METRIC``=1000, ``BENCH_BACKENDS``=sqlite,postgresql,
``BENCH_SIDES``=shipyard,mlflow, ``SEARCH_REPEAT``=5, ``SKIP_MLFLOW=1``).
Writes ``bench/results/tracking.json``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
N_RUNS = int(os.environ.get("N_RUNS", "100000"))
N_API = int(os.environ.get("N_API", "300"))
N_LOG_METRIC = int(os.environ.get("N_LOG_METRIC", "1000"))
N_HTTP = int(os.environ.get("N_HTTP", "200"))
N_REGISTER = int(os.environ.get("N_REGISTER", "5"))
SEARCH_REPEAT = int(os.environ.get("SEARCH_REPEAT", "5"))
PG = os.environ.get("SHIPYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MLFLOW_PY = os.environ.get("MLFLOW_PY", "/tmp/venv-mlflow/bin/python")
FILTER = "metrics.m0 > 0.9"
FILTER_AND = "metrics.m0 > 0.5 and params.p0 = 'v3'"
ORDER = ["metrics.m1 DESC"]


# -- shared helpers --------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in seconds]
    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 4),
        "p50_ms": round(pct(ms, 50), 4),
        "p99_ms": round(pct(ms, 99), 4),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows_for(n: int, start: int, seed: int = 7) -> list[tuple[str, list[float], list[str]]]:
    """(run id, 10 metric values, 10 param values) for runs ``start..start+n``."""
    rng = random.Random(seed + start)
    return [
        (
            uuid.uuid4().hex,
            [rng.random() for _ in range(10)],
            [f"v{(i * 7 + j) % 10}" for j in range(10)],
        )
        for i in range(start, start + n)
    ]


def timed(fn: Any, repeat: int | None = None) -> dict[str, float]:
    repeat = SEARCH_REPEAT if repeat is None else repeat
    t = time.perf_counter()
    fn()
    cold = time.perf_counter() - t
    warm = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t)
    if not warm:
        return {"cold_ms": round(cold * 1000, 2)}
    return {
        "cold_ms": round(cold * 1000, 2),
        "warm_p50_ms": round(pct(warm, 50) * 1000, 2),
        "warm_max_ms": round(max(warm) * 1000, 2),
    }


def rss_mb(pid: int) -> float:
    """Summed RSS of ``pid`` and its children (MLflow's server forks workers)."""
    total = 0
    pids = {pid}
    for line in subprocess.run(
        ["ps", "-eo", "pid,ppid,rss"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[1:]:
        p, pp, rss = (int(x) for x in line.split())
        if pp in pids or p in pids:
            pids.add(p)
            total += rss
    return round(total / 1024, 1)


def wait_http(
    url: str, proc: subprocess.Popen[bytes], headers: dict[str, str], timeout: float = 180
) -> float:
    import urllib.request

    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            req = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(req, timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def fresh_pg(name: str) -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        with psycopg.connect(PG, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return None
    return PG.rsplit("/", 1)[0] + "/" + name


# -- Shipyard ---------------------------------------------------------------------------


def shipyard_bench(url: str, work: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from shipyard.platform import Platform

    res: dict[str, Any] = {}
    p = Platform.open(work, catalog={"url": url})
    with p.tracking.start_run(experiment="bench", run_name="log_metric_loop") as run:
        run.log_metric("warmup", 0.0)
        lat = []
        for i in range(N_LOG_METRIC):
            t = time.perf_counter()
            run.log_metric("loss", 1.0 / (i + 1), step=i)
            lat.append(time.perf_counter() - t)
        t = time.perf_counter()
        run.flush()
        res["log_metric_flush_s"] = round(time.perf_counter() - t, 3)
    res["log_metric"] = summary_ms(lat)
    assert len(p.tracking.get_metric_history(run.id, "loss")) == N_LOG_METRIC

    exp = p.tracking.get_experiment_by_name("bench")
    t = time.perf_counter()
    for rid, metrics, params in rows_for(N_API, 0):
        r = p.tracking.create_run(experiment_id=exp.id, run_name=rid[:8])
        p.tracking.log_batch(
            r.id,
            params={f"p{j}": v for j, v in enumerate(params)},
            metrics=[{"key": f"m{j}", "value": v} for j, v in enumerate(metrics)],
        )
        p.tracking.end_run(r.id)
    res["create_run_10p_10m_ms"] = round((time.perf_counter() - t) / N_API * 1000, 2)

    t = time.perf_counter()
    shipyard_bulk_load(p, exp.id, N_RUNS - N_API)
    res["bulk_load_s"] = round(time.perf_counter() - t, 1)
    res["runs_total"] = N_RUNS
    page = p.tracking.search_runs(exp.id, filter=FILTER, order_by=ORDER, limit=100)
    res["search_first_page_rows"] = len(page.items)
    res["search_metric_filter_order"] = timed(
        lambda: p.tracking.search_runs(exp.id, filter=FILTER, order_by=ORDER, limit=100)
    )
    res["search_metric_and_param"] = timed(
        lambda: p.tracking.search_runs(exp.id, filter=FILTER_AND, order_by=ORDER, limit=100)
    )

    X = pd.DataFrame({"a": np.linspace(0, 1, 50), "b": np.linspace(1, 0, 50)})
    y = (X.a > 0.5).astype(int)
    model = LogisticRegression().fit(X, y)
    log_s, reg_s = [], []
    for _ in range(N_REGISTER):
        with p.tracking.start_run(experiment="bench-models") as mrun:
            t = time.perf_counter()
            mrun.log_model(model, "model", input_example=X.head(3))
            log_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        p.registry.register_model("bench-model", source=f"runs:/{mrun.id}/model")
        reg_s.append(time.perf_counter() - t)
    res["log_model_s_p50"] = round(pct(log_s, 50), 3)
    res["register_model_s_p50"] = round(pct(reg_s, 50), 3)
    res["log_and_register_s_p50"] = round(
        pct([a + b for a, b in zip(log_s, reg_s, strict=True)], 50), 3
    )
    token = p.security.create_token(name="bench").token
    p.close()
    res["http"] = shipyard_http(work, url, token)
    return res


def shipyard_bulk_load(p: Any, exp_id: str, n: int) -> None:
    from shipyard.tracking.tables import latest_metrics, metrics, params, runs

    now = int(time.time() * 1000)
    chunk = 5000
    for start in range(N_API, N_API + n, chunk):
        batch = rows_for(min(chunk, N_API + n - start), start)
        with p.context.db.begin() as conn:
            conn.execute(
                runs.insert(),
                [
                    {
                        "id": rid,
                        "experiment_id": exp_id,
                        "name": rid[:8],
                        "owner": "default",
                        "user_name": "bench",
                        "status": "FINISHED",
                        "lifecycle_stage": "active",
                        "parent_run_id": None,
                        "start_time": now - i,
                        "end_time": now,
                        "artifact_uri": f"{exp_id}/{rid}/artifacts",
                    }
                    for i, (rid, _, _) in enumerate(batch)
                ],
            )
            conn.execute(
                params.insert(),
                [
                    {"run_id": rid, "key": f"p{j}", "value": v}
                    for rid, _, ps in batch
                    for j, v in enumerate(ps)
                ],
            )
            mrows = [
                {
                    "run_id": rid,
                    "key": f"m{j}",
                    "value": v,
                    "is_nan": False,
                    "step": 0,
                    "timestamp": now,
                }
                for rid, ms, _ in batch
                for j, v in enumerate(ms)
            ]
            conn.execute(metrics.insert(), mrows)
            conn.execute(latest_metrics.insert(), mrows)
    if p.context.db.dialect == "postgresql":
        with p.context.db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def shipyard_http(work: Path, url: str, token: str) -> dict[str, Any]:
    import shipyard

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_CATALOG_URL"] = url
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard.cli.main", "-C", str(work), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        res: dict[str, Any] = {
            "start_to_first_request_s": round(wait_http(f"{base}/api/v1/health", proc, {}), 2)
        }
        time.sleep(1.0)
        res["idle_rss_mb"] = rss_mb(proc.pid)
        remote = shipyard.connect(base, token)
        run = remote.tracking.create_run("bench-http")
        lat = []
        for i in range(N_HTTP):
            t = time.perf_counter()
            remote.tracking.log_metric(run.id, "x", float(i), step=i)
            lat.append(time.perf_counter() - t)
        res["log_metric_per_request"] = summary_ms(lat)
        batch = [{"key": "b", "value": float(i), "step": i, "timestamp": 1} for i in range(1000)]
        t = time.perf_counter()
        for _ in range(10):
            remote.tracking.log_batch(run.id, metrics=batch)
        res["log_batch_metrics_per_s"] = round(10_000 / (time.perf_counter() - t))
        res["rss_after_mb"] = rss_mb(proc.pid)
        remote.close()
        return res
    finally:
        stop(proc)


# -- MLflow (runs inside the MLflow virtualenv) -------------------------------------------


def mlflow_bench(url: str, work: Path) -> dict[str, Any]:
    os.environ["MLFLOW_TRACKING_URI"] = url
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param
    from sklearn.linear_model import LogisticRegression

    res: dict[str, Any] = {"mlflow_version": mlflow.__version__}
    client = MlflowClient()
    art = work / "artifacts"
    exp_id = client.create_experiment("bench", artifact_location=art.as_uri())
    mlflow.set_experiment(experiment_id=exp_id)
    for mode, sync in (("log_metric", True), ("log_metric_async", False)):
        with mlflow.start_run():
            mlflow.log_metric("warmup", 0.0)
            lat = []
            for i in range(N_LOG_METRIC):
                t = time.perf_counter()
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i, synchronous=sync)
                lat.append(time.perf_counter() - t)
        res[mode] = summary_ms(lat)

    t = time.perf_counter()
    for rid, metrics, params in rows_for(N_API, 0):
        r = client.create_run(exp_id, run_name=rid[:8])
        now = int(time.time() * 1000)
        client.log_batch(
            r.info.run_id,
            params=[Param(f"p{j}", v) for j, v in enumerate(params)],
            metrics=[Metric(f"m{j}", v, now, 0) for j, v in enumerate(metrics)],
        )
        client.set_terminated(r.info.run_id)
    res["create_run_10p_10m_ms"] = round((time.perf_counter() - t) / N_API * 1000, 2)
    t = time.perf_counter()
    mlflow_bulk_load(url, exp_id, N_RUNS - N_API)
    res["bulk_load_s"] = round(time.perf_counter() - t, 1)
    res["runs_total"] = N_RUNS
    found = client.search_runs([exp_id], FILTER, order_by=ORDER, max_results=100)
    res["search_first_page_rows"] = len(found)
    res["search_metric_filter_order"] = timed(
        lambda: client.search_runs([exp_id], FILTER, order_by=ORDER, max_results=100)
    )
    res["search_metric_and_param"] = timed(
        lambda: client.search_runs([exp_id], FILTER_AND, order_by=ORDER, max_results=100)
    )

    X = pd.DataFrame({"a": np.linspace(0, 1, 50), "b": np.linspace(1, 0, 50)})
    model = LogisticRegression().fit(X, (X.a > 0.5).astype(int))
    log_s, reg_s = [], []
    for _ in range(N_REGISTER):
        with mlflow.start_run():
            t = time.perf_counter()
            info = mlflow.sklearn.log_model(model, name="model", input_example=X.head(3))
            log_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        mlflow.register_model(info.model_uri, "bench-model")
        reg_s.append(time.perf_counter() - t)
    res["log_model_s_p50"] = round(pct(log_s, 50), 3)
    res["register_model_s_p50"] = round(pct(reg_s, 50), 3)
    res["log_and_register_s_p50"] = round(
        pct([a + b for a, b in zip(log_s, reg_s, strict=True)], 50), 3
    )
    res["http"] = mlflow_http(url, work)
    return res


def mlflow_bulk_load(url: str, exp_id: str, n: int) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    now = int(time.time() * 1000)
    chunk = 5000
    ins_run = sa.text(
        "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id,"
        " status, start_time, end_time, source_version, lifecycle_stage, artifact_uri,"
        " experiment_id) VALUES (:id, :name, 'LOCAL', '', '', 'bench', 'FINISHED', :start,"
        " :end, '', 'active', :art, :exp)"
    )
    ins_param = sa.text("INSERT INTO params (key, value, run_uuid) VALUES (:k, :v, :r)")
    ins_metric = sa.text(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
        " VALUES (:k, :v, :t, :r, 0, :nan)"
    )
    ins_latest = sa.text(
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan,"
        " run_uuid) VALUES (:k, :v, :t, 0, :nan, :r)"
    )
    for start in range(N_API, N_API + n, chunk):
        batch = rows_for(min(chunk, N_API + n - start), start)
        with engine.begin() as conn:
            conn.execute(
                ins_run,
                [
                    {
                        "id": rid,
                        "name": rid[:8],
                        "start": now - i,
                        "end": now,
                        "art": f"file:///tmp/{rid}",
                        "exp": int(exp_id),
                    }
                    for i, (rid, _, _) in enumerate(batch)
                ],
            )
            conn.execute(
                ins_param,
                [
                    {"k": f"p{j}", "v": v, "r": rid}
                    for rid, _, ps in batch
                    for j, v in enumerate(ps)
                ],
            )
            mrows = [
                {"k": f"m{j}", "v": v, "t": now, "r": rid, "nan": False}
                for rid, ms, _ in batch
                for j, v in enumerate(ms)
            ]
            conn.execute(ins_metric, mrows)
            conn.execute(ins_latest, mrows)
    if url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def mlflow_http(url: str, work: Path) -> dict[str, Any]:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    port = free_port()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            url,
            "--artifacts-destination",
            str(work / "proxied"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        res: dict[str, Any] = {
            "start_to_first_request_s": round(wait_http(f"{base}/health", proc, {}), 2)
        }
        time.sleep(1.0)
        res["idle_rss_mb"] = rss_mb(proc.pid)
        client = MlflowClient(base)
        exp = client.create_experiment(f"bench-http-{uuid.uuid4().hex[:6]}")
        run = client.create_run(exp)
        lat = []
        for i in range(N_HTTP):
            t = time.perf_counter()
            client.log_metric(run.info.run_id, "x", float(i), step=i)
            lat.append(time.perf_counter() - t)
        res["log_metric_per_request"] = summary_ms(lat)
        batch = [Metric("b", float(i), 1, i) for i in range(1000)]
        t = time.perf_counter()
        for _ in range(10):
            client.log_batch(run.info.run_id, metrics=batch)
        res["log_batch_metrics_per_s"] = round(10_000 / (time.perf_counter() - t))
        res["rss_after_mb"] = rss_mb(proc.pid)
        return res
    finally:
        stop(proc)


# -- driver ---------------------------------------------------------------------------------


def run_side(side: str, backend: str) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-tracking-{side}-{backend}-"))
    try:
        if backend == "sqlite":
            url = f"sqlite:///{work / 'meta.db'}"
        else:
            maybe = fresh_pg(f"bench_tracking_{side}")
            if maybe is None:
                return {"skipped": "PostgreSQL not reachable"}
            url = maybe
        if side == "shipyard":
            return shipyard_bench(url, work)
        if os.environ.get("SKIP_MLFLOW") == "1" or not Path(MLFLOW_PY).exists():
            return {"skipped": f"no MLflow interpreter at {MLFLOW_PY}"}
        out = work / "mlflow.json"
        mlflow_url = url.replace("postgresql://", "postgresql+psycopg2://")
        subprocess.run(
            [MLFLOW_PY, __file__, "--mlflow", mlflow_url, str(work), str(out)], check=True
        )
        return dict(json.loads(out.read_text()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--mlflow":
        result = mlflow_bench(sys.argv[2], Path(sys.argv[3]))
        Path(sys.argv[4]).write_text(json.dumps(result))
        return 0
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")
    results: dict[str, Any] = {
        "scale": {
            "N_RUNS": N_RUNS,
            "N_API": N_API,
            "N_LOG_METRIC": N_LOG_METRIC,
            "N_HTTP": N_HTTP,
            "N_REGISTER": N_REGISTER,
        },
        "cpu_count": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
    }
    for backend in backends:
        for side in os.environ.get("BENCH_SIDES", "shipyard,mlflow").split(","):
            print(f"--- {side} on {backend}", flush=True)
            results[f"{side}/{backend}"] = run_side(side, backend)
            print(json.dumps(results[f"{side}/{backend}"], indent=1), flush=True)
    results["loadavg_at_end"] = os.getloadavg()
    out = HERE / "results" / "tracking.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
