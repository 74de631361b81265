"""What a quota check costs on the request path, and how closely a rate quota holds.

1. ``QuotaGate.admit_request`` (run by the API for every request): p50/p99 over
   ``--n`` calls with no rate quota, with one in memory and one in Redis (exact: a
   round trip per call; leased: ADR 0043), while the quota table holds 1,000 quotas;
   and ``QuotaService.enforce`` (job submission) with 1,000 queued jobs, on SQLite
   and PostgreSQL.
2. The check under load: two worker processes on one Redis, 8 client threads each
   (16 in all) calling ``admit_request`` every 0.5 ms for ``--seconds`` against a
   team quota of ``--rate``/s: p50/p99 of the check and the admitted rate, exact and
   leased.
3. Rate accuracy end to end: ``shipyard serve`` with a team quota of ``--rate``
   requests/s, 16 client threads calling ``GET /api/v1/whoami`` as fast as they can
   for ``--seconds``; the admitted rate against the set one. With one API worker
   (``memory://``) and with two (``redis://``, shared count, leased and exact).

Usage: ``python bench/quotas.py [--n 100000] [--rate 100] [--seconds 10] [--only load]
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


def _gate_cost(
    uri: str, n: int, with_plain: bool, lease: float = 0.0
) -> dict[str, dict[str, float]]:
    out = {}
    quotas = {"rate_storage": uri, "rate_lease_seconds": lease}
    with tempfile.TemporaryDirectory() as tmp, Platform.open(Path(tmp), quotas=quotas) as p:
        for i in range(1000):
            p.quotas.set_quota("team", f"t{i}", "concurrent_jobs", 10)
        vera = p.security.create_principal("vera", team="ml", role="editor")
        gate = p.quota_gate
        if with_plain:
            out["no rate quota"] = _timed(lambda: gate.admit_request(vera), n)
        p.quotas.set_quota("team", "ml", "requests_per_second", 10**9)
        how = f"{uri.split(':')[0]}{', leased' if lease and uri != 'memory://' else ''}"
        out[f"rate quota ({how})"] = _timed(lambda: gate.admit_request(vera), n)
    return out


def gate_cost(n: int, redis: str | None) -> dict[str, dict[str, float]]:
    results = _gate_cost("memory://", n, True)
    if redis:
        import redis as redis_py

        client = redis_py.Redis.from_url(redis)
        results["baseline: one Redis PING"] = _timed(client.ping, n)
        results.update(_gate_cost(redis, n, False))
        results.update(_gate_cost(redis, n, False, lease=1.0))
    return results


def _project(tmp: str, storage: str, rate: int, lease: float) -> tuple[Path, str]:
    """A project whose team ml has a rate quota; returns it and a token of vera (ml)."""
    project = Path(tmp)
    (project / "shipyard.yaml").write_text(
        f"project: bench{uuid.uuid4().hex[:6]}\nquotas:\n  rate_storage: {storage}\n"
        f"  rate_lease_seconds: {lease}\n"
    )
    with Platform.open(project) as p:
        p.security.create_principal("vera", team="ml", role="viewer")
        token = p.security.create_token(principal="vera").token
        p.quotas.set_quota("team", "ml", "requests_per_second", rate)
    return project, token


def _gate_worker(project: str, ready: Any, go: Any, times: Any, out: Any) -> None:
    """One worker process: 8 clients, each checking every 0.5 ms (a request's pace)."""
    from shipyard.errors import QuotaExceeded

    with Platform.open(Path(project)) as p:
        gate, vera = p.quota_gate, p.security.get_principal("vera")
        gate.limits()
        ready.put(1)
        go.wait()
        begin, start, end = times[:]
        lat: list[float] = []
        ok = [0]
        lock = threading.Lock()

        def client() -> None:
            mine, admitted = [], 0
            while time.time() < begin:
                time.sleep(0.001)
            while (now := time.time()) < end:
                t = time.perf_counter()
                try:
                    gate.admit_request(vera)
                    passed = True
                except QuotaExceeded:
                    passed = False
                took = time.perf_counter() - t
                if now >= start:
                    mine.append(took)
                    admitted += passed
                time.sleep(0.0005)
            with lock:
                lat.extend(mine)
                ok[0] += admitted

        threads = [threading.Thread(target=client) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    out.put((lat, ok[0]))


def gate_under_load(redis: str, rate: int, seconds: float, lease: float) -> dict[str, float]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        project, _ = _project(tmp, redis, rate, lease)
        ready, out, go, times = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Array("d", 3)
        procs = [
            ctx.Process(target=_gate_worker, args=(str(project), ready, go, times, out))
            for _ in range(2)
        ]
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.get(timeout=120)  # imported and opened
        begin = time.time() + 0.2
        times[:] = [begin, begin + 1.5, begin + 1.5 + seconds]  # count after the first second
        go.set()
        results = [out.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join()
    lat = [x for r in results for x in r[0]]
    admitted = sum(r[1] for r in results) / seconds
    return {
        **_pct(lat),
        "checks": len(lat),
        "set_rate": rate,
        "admitted_per_s": round(admitted, 1),
        "error_pct": round(100 * (admitted - rate) / rate, 1),
    }


def enforce_cost(url: str | None, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        overrides: dict[str, Any] = {"catalog": {"url": url}} if url else {}
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


def rate_accuracy(
    rate: int, seconds: float, workers: int, storage: str, lease: float = 1.0
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        project, token = _project(tmp, storage, rate, lease)
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
    failed = [0]  # no answer in time (an overloaded machine)
    lock = threading.Lock()
    # Everyone hammers from ``begin``; admissions count from ``start`` (after a warm-up
    # in which every worker process has served requests and built its caches).
    begin = time.monotonic() + 0.5
    start = begin + 2.0
    end = start + seconds

    def client() -> None:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
            while time.monotonic() < begin:
                time.sleep(0.001)
            while (now := time.monotonic()) < end:
                try:
                    code = http.get("/api/v1/whoami").status_code
                except httpx.TransportError:
                    failed[0] += 1
                    continue
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
        "no_answer": failed[0],
        "stdev_per_s": round(statistics.pstdev(per_second), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--pg", default=None)
    ap.add_argument("--redis", default=None)
    ap.add_argument(
        "--only", choices=("cost", "load", "rate"), default=None, help="One part (1, 2 or 3)."
    )
    args = ap.parse_args()
    if args.only in (None, "cost"):
        for name, r in gate_cost(args.n, args.redis).items():
            print(f"admit_request, {name}: {r}", flush=True)
        print(f"enforce concurrent_jobs, sqlite: {enforce_cost(None, 2000)}", flush=True)
        if args.pg:
            url, drop = _pg_db(args.pg)
            try:
                print(f"enforce concurrent_jobs, postgresql: {enforce_cost(url, 2000)}")
            finally:
                drop()
    if args.redis and args.only in (None, "load"):
        for lease in (0.0, 1.0):
            how = "leased" if lease else "exact"
            r = gate_under_load(args.redis, args.rate, args.seconds, lease)
            print(f"check under load, 2 processes x 8 clients, redis {how}: {r}", flush=True)
    if args.only in (None, "rate"):
        r = rate_accuracy(args.rate, args.seconds, 1, "memory://")
        print(f"rate, 1 worker, memory://: {r}", flush=True)
        for lease in (1.0, 0.0) if args.redis else ():
            how = "leased" if lease else "exact"
            r = rate_accuracy(args.rate, args.seconds, 2, args.redis, lease)
            print(f"rate, 2 workers, {args.redis} {how}: {r}", flush=True)


if __name__ == "__main__":
    main()
