"""Monitoring micro-benchmarks: recording a prediction, and a /metrics scrape.

1. **Recording a prediction on the serving path** (issue target: <= 20 us p50). Once
   the model has answered, ``ServingRuntime._done`` records the call: the per-variant
   counters (``stats.record``), the inference-log records handed to the buffered
   ``PredictionLogger`` (``_emit``) and the answer object. It is timed per call, p50
   and p99 over ``--calls`` calls, for a deployment that logs its predictions and for
   the same deployment with ``log_predictions: false``; the difference is what logging
   costs. The log's writer thread runs meanwhile, as in a server. The end-to-end
   ``predict`` (model worker round trip included) is timed beside it, for scale.
2. **A /metrics scrape of 100 deployments** (target < 50 ms): 100 deployments, each
   with per-variant counters and a stored drift report of 20 features (so 2,000
   ``shipyard_drift_psi`` series), 100 request routes' histograms; the scrape is timed
   as ``MonitoringService.metrics_text`` and as ``GET /metrics`` over HTTP.

Usage: ``python bench/monitoring_micro.py [--calls 20000] [--deployments 100]``.
Writes ``bench/results/monitoring_micro.json``; print the load average beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import uvicorn
from sklearn.linear_model import LogisticRegression

from shipyard._internal.ids import new_id
from shipyard.api.app import create_app
from shipyard.monitoring.metrics import observe
from shipyard.monitoring.tables import drift_reports
from shipyard.platform import Platform
from shipyard.serving import Variant

FEATURES = [f"f{i}" for i in range(8)]


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def _ms(xs: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(xs) * 1000, 1), "max": round(max(xs) * 1000, 1)}


def _model(p: Platform) -> str:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(2000, len(FEATURES))), columns=FEATURES)
    with p.tracking.start_run(experiment="micro") as run:
        run.log_model(LogisticRegression().fit(frame, frame.f0 > 0), "model")
    mv = p.registry.register_model("micro", source=f"runs:/{run.id}/model")
    return f"micro/{mv.version}"


def record_cost(p: Platform, model: str, calls: int) -> dict[str, Any]:
    fields = {f: "float64" for f in FEATURES}
    p.serving.create_deployment("logged", variants=[Variant(name="a", model=model)],
                                request_fields=fields)  # fmt: skip
    p.serving.create_deployment("unlogged", variants=[Variant(name="a", model=model)],
                                request_fields=fields, log_predictions=False)  # fmt: skip
    row = [{f: 0.1 * i for i, f in enumerate(FEATURES)}]
    out: dict[str, Any] = {}
    for name in ("logged", "unlogged"):
        e2e = []
        for _ in range(300):  # warm, and the end-to-end figure for scale
            t0 = time.perf_counter()
            p.serving.predict(name, row)
            e2e.append(time.perf_counter() - t0)
        built = p.serving.runtimes.built()
        assert built is not None
        runtime = built[0]
        samples = []
        for _ in range(calls):
            call = runtime._begin(name, row, None)
            t0 = time.perf_counter_ns()
            runtime._done(call, [0.5])
            samples.append((time.perf_counter_ns() - t0) / 1000)
        out[name] = {
            "record_p50_us": round(_pct(samples, 50), 2),
            "record_p99_us": round(_pct(samples, 99), 2),
            "predict_e2e_p50_us": round(_pct(e2e, 50) * 1e6, 1),
        }
    p.serving.flush_prediction_log()
    out["logging_adds_p50_us"] = round(
        out["logged"]["record_p50_us"] - out["unlogged"]["record_p50_us"], 2
    )
    return out


def _report_body(dep: str, n_features: int) -> dict[str, Any]:
    now = pd.Timestamp.now(tz="UTC").isoformat()
    feat = {"kind": "numeric", "n_reference": 1000, "n_current": 1000, "psi": 0.05,
            "js": 0.02, "chi2": 3.0, "chi2_pvalue": 0.5, "ks": 0.03, "ks_pvalue": 0.4,
            "null_rate_reference": 0.0, "null_rate_current": 0.0, "drifted": False}  # fmt: skip
    return {
        "id": new_id(), "deployment": dep, "model": "micro", "model_version": 1,
        "reference": "model:micro@1", "window_start": now, "window_end": now, "rows": 1000,
        "status": "ok", "thresholds": {}, "message": "", "seconds": 0.1,
        "features": [{"feature": f"x{j}", **feat} for j in range(n_features)],
        "prediction": {"feature": "prediction", **feat},
        "created_at": now, "created_by": "bench",
    }  # fmt: skip


def scrape(p: Platform, model: str, deployments: int, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    for i in range(deployments):
        p.serving.create_deployment(f"d{i:03d}", variants=[Variant(name="a", model=model)])
    created = time.perf_counter() - t0
    built = p.serving.runtimes.built()
    assert built is not None
    runtime = built[0]
    with p.context.db.begin() as conn:
        for i in range(deployments):
            dep = f"d{i:03d}"
            for v in ("a", "b"):  # two variants' counters each
                runtime.stats.get(dep, v).record(1.5, False)
            body = _report_body(dep, 20)
            conn.execute(drift_reports.insert().values(
                id=body["id"], deployment=dep, owner="default", status="ok", rows=1000,
                body=body, created_at=pd.Timestamp.now(tz="UTC").to_pydatetime()))  # fmt: skip
    for i in range(deployments):  # 100 routes' histograms too
        observe(f"route_{i}", "GET", 200, 0.003)
    inproc = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        text = p.monitoring.metrics_text()
        inproc.append(time.perf_counter() - t0)
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    token = p.security.create_token(principal="local-admin").token
    server = uvicorn.Server(uvicorn.Config(create_app(p), host="127.0.0.1", port=0,
                                           log_level="warning", access_log=False))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    http = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            http.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    server.should_exit = True
    thread.join(timeout=10)
    return {
        "deployments": deployments,
        "series": series,
        "bytes": len(text),
        "create_deployments_s": round(created, 2),
        "metrics_text_ms": _ms(inproc),
        "http_get_metrics_ms": _ms(http),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--deployments", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "shipyard.yaml").write_text("")
        with Platform.open(Path(tmp)) as p:
            model = _model(p)
            results: dict[str, Any] = {
                "record": record_cost(p, model, args.calls),
                "scrape": scrape(p, model, args.deployments, args.repeat),
            }
    results["loadavg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    out = Path(__file__).parent / "results" / "monitoring_micro.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
