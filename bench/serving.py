"""Serving benchmark: Shipyard deployments vs ``mlflow models serve``, same model, same run.

On loopback, with a lean keep-alive client (``http.client``, the same for both servers):

Shipyard is measured twice: the dedicated inference server (``shipyard deployments serve``)
and the full API (``shipyard serve``), which serve the same routes.

1. one prediction with 8 online features, sequential client: p50/p99 (target <= 2 / 5 ms);
2. 16 concurrent clients: requests/s and p99 vs MLflow (target >= 10x MLflow's rate at
   equal or lower p99, and p99 <= 25 ms);
3. the cost of prediction logging + a shadow variant on p50 (target <= +10%);
4. batch scoring of a tree model with 10 features: rows/minute (target >= 1 M) and the
   peak memory growth at two table sizes (bounded memory: the growth should not scale).

MLflow serves the same scikit-learn model (saved with ``mlflow.sklearn.save_model``);
as it has no feature store, its requests carry the 8 feature values themselves.

Usage: ``python bench/serving.py [--customers 10000] [--requests 2000] [--concurrency 16]
[--per-client 300] [--workers 2] [--batch-rows 1000000] [--skip-mlflow] [--skip-batch]``.
Writes ``bench/results/serving.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform as pyplatform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

HERE = Path(__file__).parent
ROOT = HERE.parent
FEATURES = [f"f{i}" for i in range(8)]


# -- measurement helpers ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    n = len(ordered)
    return {
        "n": n,
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[max(0, int(n * 0.99) - 1)] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


class Client:
    """One keep-alive connection; ``post`` returns (status, body)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Content-Type": "application/json", **headers}

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            self.conn.request("POST", path, body=body, headers=self.headers)
            r = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.conn.close()  # the server closed an idle keep-alive connection: reconnect
            self.conn.request("POST", path, body=body, headers=self.headers)
            r = self.conn.getresponse()
        return r.status, r.read()


def sequential(
    port: int, headers: dict[str, str], path: str, bodies: list[bytes]
) -> dict[str, Any]:
    c = Client(port, headers)
    for b in bodies[:100]:  # warm-up: connection, model and feature caches
        c.post(path, b)
    lat, errors = [], 0
    for b in bodies:
        t0 = time.perf_counter()
        status, _ = c.post(path, b)
        lat.append(time.perf_counter() - t0)
        errors += status != 200
    return {**_pct(lat), "errors": errors}


def concurrent(
    port: int,
    headers: dict[str, str],
    path: str,
    bodies: list[bytes],
    clients: int,
    per_client: int,
) -> dict[str, Any]:
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def worker(k: int) -> None:
        c = Client(port, headers)
        for b in bodies[:20]:
            c.post(path, b)
        mine = []
        start.wait()
        for i in range(per_client):
            t0 = time.perf_counter()
            status, _ = c.post(path, bodies[(k * per_client + i) % len(bodies)])
            mine.append(time.perf_counter() - t0)
            if status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        **_pct(lat),
        "errors": errors[0],
        "clients": clients,
        "requests_per_s": round(len(lat) / wall, 1),
    }


@contextmanager
def server(
    cmd: list[str], port: int, probe: str, env: dict[str, str], timeout: float = 240
) -> Iterator[float]:
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        t0 = time.perf_counter()
        try:
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", probe)
                    if c.getresponse().status < 500:
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                    log.seek(0)
                    raise RuntimeError(f"server did not start: {log.read().decode()[-3000:]}")
                time.sleep(0.2)
            yield time.perf_counter() - t0
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # the session this script started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# -- Shipyard setup --------------------------------------------------------------------


def setup_project(project: Path, customers: int) -> tuple[Any, pd.DataFrame, str]:
    """Gold table -> features (online) -> model 'churn' @live; three deployments; a token."""
    from sklearn.linear_model import LogisticRegression

    from shipyard.features import Entity, Feature, FeatureService, FeatureView
    from shipyard.platform import Platform
    from shipyard.serving import Variant

    p = Platform.open(project)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f: rng.normal(size=customers) for f in FEATURES})
    frame.insert(0, "customer_id", np.arange(customers, dtype=np.int64))
    ts = pa.array(
        [datetime.now(UTC) - timedelta(hours=1)] * customers, pa.timestamp("us", tz="UTC")
    )
    p.lake.write(
        "gold.customer_features",
        pa.table(
            {
                "customer_id": frame.customer_id.to_numpy(),
                "event_ts": ts,
                **{f: frame[f].to_numpy() for f in FEATURES},
            }
        ),
    )
    view = FeatureView(
        name="customer_features",
        entities=["customer"],
        source="gold.customer_features",
        timestamp_field="event_ts",
        ttl=timedelta(days=30),
        features=[Feature(f, "float64") for f in FEATURES],
        online=True,
    )
    p.features.apply(
        [
            Entity(name="customer", join_keys=["customer_id"]),
            view,
            FeatureService(name="churn", features=[view]),
        ]
    )
    p.features.materialize()
    y = (frame.f0 + frame.f1 - frame.f2 > 0).astype(int)
    model = LogisticRegression().fit(frame[FEATURES], y)
    with p.tracking.start_run(experiment="churn", run_name="lr") as run:
        run.log_model(
            model, "model", input_example=frame[FEATURES].head(5), predict_method="predict_proba"
        )
    mv = p.registry.register_model("churn", source=f"runs:/{run.id}/model")
    p.registry.set_alias("churn", "live", mv.version)
    common = {"feature_service": "churn", "entity_keys": ["customer_id"]}
    live = Variant(name="a", model="churn@live")
    p.serving.create_deployment("churn", variants=[live], **common)
    p.serving.create_deployment("churn_plain", variants=[live], log_predictions=False, **common)
    p.serving.create_deployment(
        "churn_shadow",
        variants=[live, Variant(name="s", model="churn@live", weight=0, shadow=True)],
        **common,
    )
    p.security.create_principal("bench", role="predictor")
    token = p.security.create_token(principal="bench").token
    return p, frame, token


def inprocess(p: Any, n: int) -> dict[str, Any]:
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        p.serving.predict("churn", [{"customer_id": i % 1000}])
        lat.append(time.perf_counter() - t0)
    return _pct(lat)


def shipyard_http(
    project: Path,
    token: str,
    customers: int,
    args: argparse.Namespace,
    workers: int,
    lean: bool,
) -> dict[str, Any]:
    """``lean``: ``shipyard deployments serve`` (inference server); else ``shipyard serve``."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    command = ["deployments", "serve"] if lean else ["serve"]
    cmd = [sys.executable, "-m", "shipyard", "-C", str(project), *command]
    cmd += ["--port", str(port), "--workers", str(workers)]
    rng = np.random.default_rng(1)
    ids = rng.integers(0, customers, args.requests)
    bodies = [json.dumps({"inputs": [{"customer_id": int(c)}]}).encode() for c in ids]
    auth = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {"workers": workers, "server": " ".join(command)}
    with server(cmd, port, "/api/v1/health", env) as startup:
        out["startup_s"] = round(startup, 2)
        for name in ("churn", "churn_plain", "churn_shadow"):
            sequential(port, auth, f"/api/v1/deployments/{name}/predict", bodies[:200])
        if workers == 1:
            out["sequential"] = sequential(port, auth, "/api/v1/deployments/churn/predict", bodies)
            out["sequential_plain"] = sequential(
                port, auth, "/api/v1/deployments/churn_plain/predict", bodies
            )
            out["sequential_log_and_shadow"] = sequential(
                port, auth, "/api/v1/deployments/churn_shadow/predict", bodies
            )
        out["concurrent"] = concurrent(
            port,
            auth,
            "/api/v1/deployments/churn/predict",
            bodies,
            args.concurrency,
            args.per_client,
        )
    return out


# -- MLflow ----------------------------------------------------------------------------


def mlflow_http(
    frame: pd.DataFrame, args: argparse.Namespace, workers: int, work: Path
) -> dict[str, Any]:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    y = (frame.f0 + frame.f1 - frame.f2 > 0).astype(int)
    model = LogisticRegression().fit(frame[FEATURES], y)
    mdir = work / f"mlflow-model-{workers}"
    mlflow.sklearn.save_model(
        model,
        str(mdir),
        signature=infer_signature(frame[FEATURES], model.predict(frame[FEATURES])),
        input_example=frame[FEATURES].head(1),
    )
    port = _free_port()
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        str(mdir),
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-w",
        str(workers),
    ]
    rng = np.random.default_rng(1)
    rows = frame[FEATURES].to_numpy()[rng.integers(0, len(frame), args.requests)]
    bodies = [
        json.dumps({"dataframe_split": {"columns": FEATURES, "data": [r.tolist()]}}).encode()
        for r in rows
    ]
    out: dict[str, Any] = {"workers": workers, "mlflow": mlflow.__version__}
    with server(cmd, port, "/ping", env) as startup:
        out["startup_s"] = round(startup, 2)
        if workers == 1:
            out["sequential"] = sequential(port, {}, "/invocations", bodies)
        out["concurrent"] = concurrent(
            port, {}, "/invocations", bodies, args.concurrency, args.per_client
        )
    return out


# -- batch -----------------------------------------------------------------------------


class PeakRss:
    """Samples this process's resident memory every 20 ms."""

    def __init__(self) -> None:
        self.peak = self.base = self._rss()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()

    @property
    def growth_mb(self) -> float:
        return round((self.peak - self.base) / 2**20, 1)


def batch(p: Any, rows: int, chunk_rows: int) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    cols = [f"x{i}" for i in range(10)]
    rng = np.random.default_rng(2)
    train = pd.DataFrame(rng.normal(size=(20_000, 10)), columns=cols)
    y = (train.x0 - train.x3 + train.x7 > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=100, max_depth=6).fit(train, y)
    with p.tracking.start_run(experiment="batch", run_name="hgb") as run:
        run.log_model(model, "model", input_example=train.head(5), predict_method="predict_proba")
    mv = p.registry.register_model("scorer", source=f"runs:/{run.id}/model")
    out: dict[str, Any] = {
        "model": "HistGradientBoostingClassifier(max_iter=100, max_depth=6)",
        "features": 10,
        "chunk_rows": chunk_rows,
    }
    for n, table in ((rows // 4, "datasets.batch_small"), (rows, "datasets.batch_input")):
        for start in range(0, n, 250_000):  # write the input in pieces, like an ingest
            m = min(250_000, n - start)
            block = rng.normal(size=(m, 10))
            p.lake.write(
                table,
                pa.table(
                    {
                        "id": np.arange(start, start + m, dtype=np.int64),
                        **{c: block[:, i] for i, c in enumerate(cols)},
                    }
                ),
            )
        with PeakRss() as mem:
            r = p.serving.score_table(
                f"scorer/{mv.version}", table, f"{table}_scores", chunk_rows=chunk_rows
            )
        # the idempotency check on the smaller table (a rerun scores again, then writes nothing)
        again = (
            p.serving.score_table(
                f"scorer/{mv.version}", table, f"{table}_scores", chunk_rows=chunk_rows
            )
            if n < rows
            else None
        )
        out[str(n)] = {
            "rows": r.rows,
            "seconds": round(r.seconds, 2),
            "rows_per_minute": round(r.rows / r.seconds * 60),
            "peak_rss_growth_mb": mem.growth_mb,
            "rerun_chunks_written": again.chunks_written if again else None,
            "output_rows": p.lake.get_table(f"{table}_scores").num_rows,
        }
    return out


# -- main ------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--per-client", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-rows", type=int, default=250_000)
    ap.add_argument("--skip-mlflow", action="store_true")
    ap.add_argument("--skip-batch", action="store_true")
    args = ap.parse_args()
    result: dict[str, Any] = {
        "args": vars(args),
        "python": pyplatform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    steps: list[tuple[str, Callable[[], Any]]] = []
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-serving-") as tmp:
        work = Path(tmp)
        project = work / "project"
        project.mkdir()
        p, frame, token = setup_project(project, args.customers)
        result["inprocess_predict"] = inprocess(p, args.requests)
        p.close()  # the server processes open the project themselves
        for lean, tag in ((True, "inference_server"), (False, "api")):
            steps.append((f"shipyard_{tag}_1_worker", _step(project, token, args, 1, lean)))
            if lean:  # the full API's multi-worker figure is skipped to spare a shared machine
                steps.append(
                    (
                        f"shipyard_{tag}_{args.workers}_workers",
                        _step(project, token, args, args.workers, lean),
                    )
                )
        if not args.skip_mlflow:
            steps.append(("mlflow_1_worker", lambda: mlflow_http(frame, args, 1, work)))
            steps.append(
                (
                    f"mlflow_{args.workers}_workers",
                    lambda: mlflow_http(frame, args, args.workers, work),
                )
            )
        for name, step in steps:
            print(f"-- {name}", flush=True)
            load = os.getloadavg()  # a shared machine: what else ran beside this step
            try:
                result[name] = step()
            except Exception as exc:  # keep the other figures of this run
                result[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            result[name]["loadavg"] = [round(x, 2) for x in (*load, *os.getloadavg())]
            print(json.dumps(result[name]), flush=True)
        if not args.skip_batch:
            from shipyard.platform import Platform

            with Platform.open(project) as p2:
                print("-- batch", flush=True)
                result["batch"] = batch(p2, args.batch_rows, args.chunk_rows)
                print(json.dumps(result["batch"]), flush=True)
    try:
        result["summary"] = summarize(result, args)
    except (KeyError, ValueError) as exc:  # a failed step: the raw figures are still saved
        result["summary"] = {"error": f"{type(exc).__name__}: {exc}"}
    result["loadavg_end"] = os.getloadavg()
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "serving.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result["summary"], indent=2))
    return 0


def _step(
    project: Path, token: str, args: argparse.Namespace, workers: int, lean: bool
) -> Callable[[], Any]:
    return lambda: shipyard_http(project, token, args.customers, args, workers, lean)


def summarize(r: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    s: dict[str, Any] = {"inprocess_p50_ms": r["inprocess_predict"]["p50_ms"]}
    for tag in ("inference_server", "api"):
        one = r[f"shipyard_{tag}_1_worker"]
        seq = one["sequential"]
        plain = one["sequential_plain"]["p50_ms"]
        full = one["sequential_log_and_shadow"]["p50_ms"]
        runs = [k for k in r if k.startswith(f"shipyard_{tag}_") and "concurrent" in r[k]]
        best = max(runs, key=lambda k: r[k]["concurrent"]["requests_per_s"])
        conc = r[best]["concurrent"]
        s[tag] = {
            "loadavg_1min_before_after": [
                r[best]["loadavg"][0],
                r[best]["loadavg"][3],
            ],
            "sequential_p50_ms": seq["p50_ms"],
            "sequential_p99_ms": seq["p99_ms"],
            "log_and_shadow_p50_overhead_pct": round((full / plain - 1) * 100, 1),
            "concurrent": {
                "config": best,
                **{k: conc[k] for k in ("requests_per_s", "p50_ms", "p99_ms", "errors")},
            },
        }
    s["targets"] = {
        "sequential_p50_ms": 2.0,
        "sequential_p99_ms": 5.0,
        "log_and_shadow_p50_overhead_pct": 10.0,
        "concurrent_p99_ms": 25.0,
        "concurrent_rps_vs_mlflow": 10.0,
        "batch_rows_per_minute": 1_000_000,
    }
    if "mlflow_1_worker" in r:
        seq_m = r["mlflow_1_worker"]["sequential"]
        mruns = [k for k in r if k.startswith("mlflow_") and "concurrent" in r[k]]
        mbest = max(mruns, key=lambda k: r[k]["concurrent"]["requests_per_s"])
        mc = r[mbest]["concurrent"]
        s["mlflow"] = {
            "sequential_p50_ms": seq_m["p50_ms"],
            "sequential_p99_ms": seq_m["p99_ms"],
            "concurrent": {
                "config": mbest,
                **{k: mc[k] for k in ("requests_per_s", "p50_ms", "p99_ms", "errors")},
            },
        }
        for tag in ("inference_server", "api"):
            s[tag]["concurrent"]["rps_vs_mlflow"] = round(
                s[tag]["concurrent"]["requests_per_s"] / mc["requests_per_s"], 2
            )
    if "batch" in r:
        big = r["batch"][str(args.batch_rows)]
        small = r["batch"][str(args.batch_rows // 4)]
        s["batch"] = {
            "rows_per_minute": big["rows_per_minute"],
            "rerun_chunks_written": small["rerun_chunks_written"],
            "peak_rss_growth_mb": {
                str(args.batch_rows // 4): small["peak_rss_growth_mb"],
                str(args.batch_rows): big["peak_rss_growth_mb"],
            },
        }
    return s


if __name__ == "__main__":
    sys.exit(main())
