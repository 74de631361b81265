"""Web UI server time per page and fragment, and the lineage graph in a real browser.

Seeds a project in bulk (``bench/ui_seed.py``, rows straight into the services'
tables): ``--assets`` catalog assets (tables with tags, including a lineage graph of
``--lineage`` nodes upstream of ``model:big``) and ``--runs`` tracked runs (each run
is a catalog asset too), then times every page as a
signed-in admin with the in-process ASGI client (server time: routing, the service
calls, rendering; no network). With ``--browser`` it also opens the lineage page of
``model:big`` in Debian's chromium and reports when the graph is laid out and answers
a pan/zoom.

With ``--compare 100`` it seeds an experiment of 100 runs x ``--steps`` steps x 5
metrics instead and times the compare view: server time of the page and of one
metric's downsampled JSON, and in chromium the time from navigation to the first
chart drawn.

Usage: ``python bench/ui.py [--assets 10000] [--runs 100000] [--lineage 5000] [--n 30]
[--browser [--renderers webgl,canvas] [--reps 3] [--skip-pages]]``
or ``python bench/ui.py --compare 100 [--steps 10000] [--browser] [--project DIR]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.platform import Platform

try:
    from bench.ui_seed import seed_bulk, seed_compare_bulk
except ModuleNotFoundError:  # run as a script: bench/ is on sys.path
    from ui_seed import seed_bulk, seed_compare_bulk  # type: ignore[no-redef]

PAGES = (
    "/ui/",
    "/ui/catalog",
    "/ui/catalog?q=table%2017&kind=table",
    "/ui/catalog?tag=tag7&team=risk",
    "/ui/catalog/table/silver.t17",
    "/ui/catalog/model/big/lineage",
    "/ui/catalog/model/big/lineage.json?depth=25",
    "/ui/lake",
    "/ui/features",
    "/ui/audit",
    "/ui/admin",
)
FRAGMENTS = ("/ui/catalog?q=t12", "/ui/audit?outcome=ok")


HEADER = f"{'page':60} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8}  load average"


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _time(
    client: TestClient, path: str, n: int, headers: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """(p50, p95 wall ms, p50 CPU ms) of ``n`` GETs after a warm one. The CPU time is
    the process's (every thread): on the shared machine the wall time is mostly waiting
    for a core, the CPU time is what the request costs."""
    client.get(path, headers=headers)  # warm
    ms, cpu = [], []
    for _ in range(n):
        t, c = time.perf_counter(), time.process_time()
        r = client.get(path, headers=headers)
        ms.append(1000 * (time.perf_counter() - t))
        cpu.append(1000 * (time.process_time() - c))
        assert r.status_code == 200, (path[:80], r.status_code, r.text[:200])
    ms.sort()
    return statistics.median(ms), ms[int(0.95 * (n - 1))], statistics.median(cpu)


def time_pages(client: TestClient, n: int) -> list[tuple[str, float, float, float]]:
    out = []
    for path in PAGES + FRAGMENTS:
        headers = {"HX-Request": "true"} if path in FRAGMENTS else {}
        shown = path + (" (fragment)" if headers else "")
        out.append((shown, *_time(client, path, n, headers)))
    return out


def _chromium_cpu() -> dict[str, float]:
    """CPU seconds so far of this process's chromium descendants, by process type."""
    import psutil

    out: dict[str, float] = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            cmd = proc.cmdline()
            if not cmd or "chrom" not in cmd[0]:
                continue
            kind = next((a[7:] for a in cmd if a.startswith("--type=")), "browser")
            t = proc.cpu_times()
            out[kind] = out.get(kind, 0.0) + t.user + t.system
        except psutil.Error:
            continue
    return out


def browser_lineage(
    p: Platform, token: str, renderers: list[str], reps: int
) -> list[dict[str, Any]]:
    """The lineage page of ``model:big`` in chromium, each renderer in turn (``webgl``:
    WebGL asked for, even a software one; ``canvas``: WebGL off; ``auto``: the page's
    choice), ``reps`` times; with the CPU
    seconds chromium's renderer and GPU processes and the server spent meanwhile."""
    from playwright.sync_api import sync_playwright
    from tests.e2e.ui.conftest import CHROMIUM_ARGS, chromium_path
    from tests.servers import live_server

    found = []
    with live_server(p) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for _ in range(reps):
            for renderer in renderers:
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                if renderer in ("webgl", "canvas"):  # else the page's choice
                    context.add_init_script(
                        f"window.SHIPYARD_WEBGL = {str(renderer == 'webgl').lower()}"
                    )
                page = context.new_page()
                page.goto(f"{url}/ui/login")
                page.fill("#token", token)
                page.click("button[type=submit]")
                page.wait_for_url(f"{url}/ui/")
                load = _load()
                cpu0, server0 = _chromium_cpu(), time.process_time()
                t = time.perf_counter()
                page.goto(f"{url}/ui/catalog/model/big/lineage?depth=25")
                # data-ready: laid out and the first frame drawn (shipyardLineage.painted,
                # ms from navigation)
                page.wait_for_selector("#lineage[data-ready=true]", timeout=120_000)
                ready = time.perf_counter() - t
                server, cpu1 = time.process_time() - server0, _chromium_cpu()
                cpu = {k: round(v - cpu0.get(k, 0.0), 2) for k, v in cpu1.items()}
                # interactive: a zoom and a pan answered, and the next frame drawn
                interact = page.evaluate(
                    """() => new Promise(done => {
                        const cy = window.shipyardLineage.cy, t = performance.now();
                        cy.zoom(0.5); cy.panBy({x: 100, y: 50});
                        requestAnimationFrame(() => requestAnimationFrame(
                            () => done(performance.now() - t)));
                    })"""
                )
                if page.evaluate("window.shipyardLineage.lod != null"):
                    # level of detail (ADR 0049): past zoom 0.35 the viewport's real
                    # edges are added after a 120 ms debounce; sync_ms is that addition
                    # to the next frame
                    page.wait_for_function("() => window.shipyardLineage.lod.detail")
                    page.wait_for_timeout(100)
                info = page.evaluate("(({cy, ...rest}) => rest)(window.shipyardLineage)")
                found.append(
                    {
                        **info,
                        "ready_s": round(ready, 2),
                        "pan_zoom_ms": round(interact),
                        "cpu_s": {
                            "renderer": cpu.get("renderer"),
                            "gpu": cpu.get("gpu-process"),
                            "server": round(server, 2),
                        },
                        "load": load,
                    }
                )
                print(found[-1], flush=True)
                context.close()
        browser.close()
    return found


def time_compare(
    client: TestClient, ids: list[str], experiment: str, n: int
) -> list[tuple[str, float, float, float]]:
    qs = "&".join(f"runs={r}" for r in ids)
    out = []
    pages = (
        "/ui/experiments",
        f"/ui/experiments/{experiment}",
        f"/ui/experiments/{experiment}?order=metrics.auc%20DESC&filter=metrics.loss%20%3C%201",
        f"/ui/runs/{ids[0]}",
        "/ui/registry",
        "/ui/deployments",
        "/ui/pipelines",
        "/ui/jobs",
        f"/ui/compare?{qs}",
        f"/ui/compare/metric.json?key=loss&{qs}",
        f"/ui/compare/metric.json?key=loss&rollup=true&{qs}",
    )
    for path in pages:
        shown = path if "runs=" not in path else path.split("?")[0] + f" ({len(ids)} runs)"
        shown += " rollup" if "rollup=true" in path else ""
        shown = shown.replace(experiment, "<id>").replace(ids[0], "<run>")
        out.append((shown, *_time(client, path, n)))
    return out


def browser_compare(p: Platform, token: str, ids: list[str]) -> dict[str, Any]:
    """Navigation to the first chart drawn, and to every chart drawn, in chromium."""
    from playwright.sync_api import sync_playwright
    from tests.e2e.ui.conftest import CHROMIUM_ARGS, chromium_path
    from tests.servers import live_server

    qs = "&".join(f"runs={r}" for r in ids)
    with live_server(p) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/ui/login")
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/ui/")
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            page.goto(f"{url}/ui/compare?{qs}")
            page.wait_for_selector("figure[data-chart][data-ready=true]", timeout=60_000)
            first = time.perf_counter() - t
            for i in range(page.locator("figure[data-chart]").count()):  # no eval: the CSP
                page.wait_for_selector(f"#chart-{i + 1}[data-ready=true]", timeout=120_000)
            runs.append((round(first, 2), round(time.perf_counter() - t, 2)))
        browser.close()
    return {"first_chart_s": [r[0] for r in runs], "all_charts_s": [r[1] for r in runs]}


def time_all_pages(p: Platform, token: str, n: int) -> None:
    with TestClient(create_app(p), base_url="http://testserver") as client:
        client.get("/ui/login")
        csrf = client.cookies["shipyard_login_csrf"]
        r = client.post("/ui/login", data={"token": token, "csrf": csrf})
        assert re.search(r'name="csrf"', r.text)
        print(HEADER, _load())
        for path, p50, p95, cpu in time_pages(client, n):
            print(f"{path:60} {p50:8.1f} {p95:8.1f} {cpu:8.1f}", flush=True)
        print("load average", _load())


def compare_main(args: argparse.Namespace, project: Path, fresh: bool) -> None:
    with Platform.open(project) as p:
        if fresh:
            seed_compare_bulk(p, runs_n=args.compare, steps=args.steps)
        exp = p.tracking.get_experiment_by_name("compare")
        ids = [r.id for r in p.tracking.search_runs(exp.id, limit=args.compare).items]
        token = p.security.create_token(name="bench").token
        with TestClient(create_app(p), base_url="http://testserver") as client:
            client.get("/ui/login")
            csrf = client.cookies["shipyard_login_csrf"]
            client.post("/ui/login", data={"token": token, "csrf": csrf})
            print(HEADER, _load())
            for path, p50, p95, cpu in time_compare(client, ids, exp.id, args.n):
                print(f"{path:60} {p50:8.1f} {p95:8.1f} {cpu:8.1f}", flush=True)
            print("load average", _load())
        if args.browser:
            print(browser_compare(p, token, ids))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--lineage", type=int, default=5_000)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--browser", action="store_true")
    ap.add_argument("--renderers", default="auto", help="lineage renderers: auto,webgl,canvas")
    ap.add_argument("--reps", type=int, default=1, help="lineage page loads per renderer")
    ap.add_argument("--skip-pages", action="store_true", help="only the browser")
    ap.add_argument("--project", help="keep the seeded project here; reuse it when it exists")
    ap.add_argument("--compare", type=int, default=0, help="runs of the compare-view bench")
    ap.add_argument("--steps", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(args.project or tmp)
        fresh = not (project / "shipyard.yaml").exists()
        project.mkdir(parents=True, exist_ok=True)
        (project / "shipyard.yaml").write_text("# bench/ui.py\n")
        if args.compare:
            compare_main(args, project, fresh)
            return
        with Platform.open(project) as p:
            if fresh:
                seed_bulk(p, assets_n=args.assets, runs_n=args.runs, lineage=args.lineage)
            token = p.security.create_token(name="bench").token
            if not args.skip_pages:
                time_all_pages(p, token, args.n)
            if args.browser:
                browser_lineage(p, token, args.renderers.split(","), args.reps)


if __name__ == "__main__":
    main()
