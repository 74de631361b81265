"""What the token check costs a request, read fresh every time vs reused until a change.

1. The check alone (``shipyard.api.auth.TokenCheck.caller``), ``security.auth_cache=0``
   (one indexed query per request) vs the default (reused while the security change
   stamp holds still), on SQLite and, if reachable, PostgreSQL.
2. A whole prediction through the inference server (an in-memory model with 8
   features, sequential keep-alive client), both ways, on the same catalog.

Usage: ``python bench/auth.py [--requests 3000] [--pg postgresql://postgres@127.0.0.1/test]``
(the PostgreSQL run creates and drops a scratch database; skipped if unreachable).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shipyard.api.auth import TokenCheck
from shipyard.platform import Platform


def _us(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    for _ in range(min(200, n)):
        fn()
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1e6)
    xs.sort()
    return statistics.median(xs), xs[int(len(xs) * 0.99)]


class _Constant:
    feature_names_in_ = [f"f{i}" for i in range(8)]

    def predict(self, frame: Any) -> list[float]:
        return [0.5] * len(frame)


def _serve_constant(p: Platform) -> None:
    from shipyard.serving import Variant
    from shipyard.serving.backends.base import FeatureRows, ResolvedModel
    from shipyard.serving.context import runtime_for

    class Models:
        def resolve(self, name: str, *, alias: str | None, version: int | None) -> ResolvedModel:
            return ResolvedModel(name, 1)

        def load(self, model: ResolvedModel) -> Any:
            return _Constant()

    def features(_service: str, rows: list[dict[str, Any]]) -> FeatureRows:
        cols = {f: [0.1] * len(rows) for f in _Constant.feature_names_in_}
        return FeatureRows(columns=cols, statuses=[{} for _ in rows])

    runtime_for(p.context, models=Models(), features=features, refresh_interval=0)
    p.catalog.register_asset("model:m@1")
    p.serving.create_deployment(
        "d",
        variants=[Variant(name="a", model="m/1")],
        feature_service="fs",
        entity_keys=["k"],
        log_predictions=False,
    )


@contextmanager
def _server(p: Platform, max_age: float) -> Iterator[int]:
    import uvicorn
    from tests.servers import free_port

    from shipyard.serving.server import create_serving_app

    port = free_port()
    app = create_serving_app(p, auth_cache_seconds=max_age)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join()


def _predict_us(port: int, token: str, n: int) -> tuple[float, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"inputs": [{"k": 1}]})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def once() -> None:
        conn.request("POST", "/api/v1/deployments/d/predict", body, headers)
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status

    try:
        return _us(once, n)
    finally:
        conn.close()


def run(label: str, project: Path, n: int, **overrides: Any) -> None:
    with Platform.open(project, **overrides) as p:
        p.security.create_principal("pat", role="predictor")
        token = p.security.create_token(principal="pat").token
        header = f"Bearer {token}"
        for max_age in (0.0, 1.0):
            check = TokenCheck(p, max_age=max_age)
            p50, p99 = _us(lambda c=check: c.caller(header), n)
            print(
                f"{label:10} check alone,  auth_cache={max_age:<3} p50 {p50:7.1f} µs  p99 {p99:8.1f} µs"
            )
        _serve_constant(p)
        for max_age in (0.0, 1.0):
            with _server(p, max_age) as port:
                p50, p99 = _predict_us(port, token, n)
            print(
                f"{label:10} predict call, auth_cache={max_age:<3} p50 {p50:7.1f} µs  p99 {p99:8.1f} µs"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sqlite").mkdir()
        run("sqlite", Path(tmp) / "sqlite", args.requests)
        try:
            import psycopg

            name = f"shipyard_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True, connect_timeout=2) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
        except Exception as exc:  # no PostgreSQL here: the SQLite figures stand alone
            print(f"postgresql skipped: {exc}")
            return
        try:
            (Path(tmp) / "pg").mkdir()
            url = f"{args.pg.rsplit('/', 1)[0]}/{name}"
            run("postgresql", Path(tmp) / "pg", args.requests, catalog={"url": url})
        finally:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
