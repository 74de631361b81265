"""What a quota check costs on the request path, and how closely a rate quota holds.

1. ``QuotaGate.admit_request`` (run by the API for every request): p50/p99 over
   ``--n`` calls with no rate quota, with one in memory and one in Redis, while the
   quota table holds 1,000 quotas; and ``QuotaService.enforce`` (job submission)
   with 1,000 queued jobs, on SQLite and PostgreSQL.
2. Rate accuracy: ``shipyard serve`` with a team quota of ``--rate`` requests/s,
   16 client threads calling ``GET /api/v1/whoami`` as fast as they can for
   ``--seconds``; the admitted rate against the set one. With one API worker
   (``memory://``) and with two (``redis://``, shared count).

Usage: ``python bench/quotas.py [--n 100000] [--rate 100] [--seconds 10]
[--pg postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from shipyard.platform import Platform
from shipyard.quotas.models import QuotaResource

ROOT = Path(__file__).resolve().parents[1]


def _pct(samples: list[float]) -> dict[str, float]:
    samples.sort()
    return {
        "p50_us": 1e6 * samples[len(samples) // 2],
        "p99_us": 1e6 * samples[int(len(samples) * 0.99)],
        "max_us": 1e6 * samples[-1],
    }


def _timed(fn: Any, n: int) -> dict[str, float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return _pct(out)


def _gate_cost(uri: str, n: int, with_plain: bool) -> dict[str, dict[str, float]]:
    out = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        Platform.open(Path(tmp), quotas={"rate_storage": uri}) as p,
    ):
        for i in range(1000):
            p.quotas.set_quota("team", f"t{i}", "concurrent_jobs", 10)
        vera = p.security.create_principal("vera", team="ml", role="editor")
        gate = p.quota_gate
        if with_plain:
            out["no rate quota"] = _timed(lambda: gate.admit_request(vera), n)
        p.quotas.set_quota("team", "ml", "requests_per_second", 10**9)
        out[f"rate quota ({uri.split(':')[0]})"] = _timed(lambda: gate.admit_request(vera), n)
    return out


def gate_cost(n: int, redis: str | None) -> dict[str, dict[str, float]]:
    results = _gate_cost("memory://", n, True)
    if redis:
        import redis as redis_py

        client = redis_py.Redis.from_url(redis)
        results["baseline: one Redis PING"] = _timed(client.ping, n)
        results.update(_gate_cost(redis, n, False))
    return results


def enforce_cost(url: str | None, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"catalog": {"url": url}} if url else {}
        with Platform.open(Path(tmp), **overrides) as p:
            p.jobs.submit_many([{"target": "shipyard.pipelines.builtin:noop", "team": "ml"}] * 1000)
            p.quotas.set_quota("team", "ml", "concurrent_jobs", 10**6)
            return _timed(
                lambda: p.quotas.enforce(QuotaResource.CONCURRENT_JOBS, "ml", action="bench"), n
            )


def _pg_db(server: str) -> tuple[str, Any]:
    import psycopg

    name = f"shipyard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return server.rsplit("/", 1)[0] + f"/{name}", drop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rate_accuracy(rate: int, seconds: float, workers: int, storage: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "shipyard.yaml").write_text(
            f"project: bench{uuid.uuid4().hex[:6]}\nquotas:\n  rate_storage: {storage}\n"
        )
        with Platform.open(project) as p:
            p.security.create_principal("vera", team="ml", role="viewer")
            token = p.security.create_token(principal="vera").token
            p.quotas.set_quota("team", "ml", "requests_per_second", rate)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        cmd = [
            sys.executable,
            "-m",
            "shipyard",
            "-C",
            str(project),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        server = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url)
            return _hammer(url, token, seconds, rate)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not come up")


def _hammer(url: str, token: str, seconds: float, rate: int) -> dict[str, float]:
    ok: list[float] = []
    answered: list[float] = []  # every answer (200 or 429): what the server could serve
    refused = [0]
    lock = threading.Lock()
    # Everyone hammers from ``begin``; admissions count from ``start`` (after a warm-up
    # in which every worker process has served requests and built its caches).
    begin = time.monotonic() + 0.5
    start = begin + 2.0
    end = start + seconds

    def client() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            while time.monotonic() < begin:
                time.sleep(0.001)
            while (now := time.monotonic()) < end:
                code = http.get("/api/v1/whoami").status_code
                if now < start:
                    continue
                with lock:
                    answered.append(now)
                    if code == 200:
                        ok.append(now)
                    elif code == 429:
                        refused[0] += 1

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def by_second(times: list[float]) -> list[int]:
        return [
            sum(1 for t in times if start + i <= t < start + i + 1) for i in range(int(seconds))
        ]

    per_second, served = by_second(ok), by_second(answered)
    quiet = per_second.index(min(per_second))
    admitted = len(ok) / seconds
    return {
        "set_rate": rate,
        "admitted_per_s": round(admitted, 1),
        "error_pct": round(100 * (admitted - rate) / rate, 1),
        "worst_second": max(per_second),
        "best_second_min": min(per_second),
        "answers_in_that_second": served[quiet],
        "refused_429": refused[0],
        "stdev_per_s": round(statistics.pstdev(per_second), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--pg", default=None)
    ap.add_argument("--redis", default=None)
    args = ap.parse_args()
    for name, r in gate_cost(args.n, args.redis).items():
        print(f"admit_request, {name}: {r}")
    print(f"enforce concurrent_jobs, sqlite: {enforce_cost(None, 2000)}")
    if args.pg:
        url, drop = _pg_db(args.pg)
        try:
            print(f"enforce concurrent_jobs, postgresql: {enforce_cost(url, 2000)}")
        finally:
            drop()
    print(f"rate, 1 worker, memory://: {rate_accuracy(args.rate, args.seconds, 1, 'memory://')}")
    if args.redis:
        r = rate_accuracy(args.rate, args.seconds, 2, args.redis)
        print(f"rate, 2 workers, {args.redis}: {r}")


if __name__ == "__main__":
    main()
