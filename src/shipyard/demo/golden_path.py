"""`shipyard demo`: raw files to a served prediction, through the services only.

Each step is one or two service calls -- the same calls a user's project makes --,
run as the steps of a Shipyard pipeline (``shipyard.demo.pipeline``) by a worker in
this process: the platform runs its own golden path.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.markup import escape

from shipyard.config import CONFIG_FILE, Settings, load_settings, settings_env
from shipyard.demo import pipeline as demo_pipeline
from shipyard.demo.data import DemoFiles, generate
from shipyard.demo.definitions import FEATURES
from shipyard.pipelines.embedded import EmbeddedWorkers
from shipyard.platform import Platform
from shipyard.step_actions import release

TOTAL_STEPS = 9


@dataclass
class DemoResult:
    project: Path
    rows: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    auc: float = 0.0
    model_version: int = 0
    run_id: str = ""
    latencies_ms: list[float] = field(default_factory=list)
    http_vs_inprocess_max_diff: float = float("nan")
    #: How often each online feature status came back in the served answers.
    feature_statuses: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0
    files: DemoFiles | None = None
    #: The id of the ``churn`` pipeline's run that did steps 2 to 8.
    pipeline_run: str = ""
    #: What the demo leaves scheduled: the daily run and the retrain trigger.
    schedule: list[str] = field(default_factory=list)

    def latency(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


class _Steps:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.n = 0

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.n += 1
        start = time.perf_counter()
        label = escape(f"[{self.n}/{TOTAL_STEPS}] {title}")
        with self.console.status(f"{label}..."):
            yield
        took = time.perf_counter() - start
        self.console.print(f"[green]✓[/green] {label} [dim]({took:.1f}s)[/dim]")

    def note(self, text: str) -> None:
        # Data text, not markup: "[quarantined]" must print as it is.
        self.console.print(f"      {text}", highlight=False, markup=False)


def run_demo(
    directory: Path | None = None,
    *,
    customers: int = 2000,
    days: int = 90,
    requests: int = 200,
    seed: int = 7,
    console: Console | None = None,
) -> DemoResult:
    """Run the golden path in ``directory`` (a new folder if omitted) and leave it there.

    Steps 2 to 8 are the ``churn`` pipeline (``shipyard.demo.pipeline``), run through
    the job queue by a worker on a thread of this process; each line is printed as
    its steps end.
    """
    console = console or Console()
    started = time.perf_counter()
    project = _new_project_dir(directory)
    console.print(f"[bold]Shipyard golden path[/bold] in {escape(str(project))}")
    steps = _Steps(console)
    result = DemoResult(project=project)
    try:
        with Platform.from_settings(_settings(project)) as p:
            _run(p, steps, result, customers=customers, days=days, requests=requests, seed=seed)
            with steps.step("Summarise"):
                result.wall_seconds = time.perf_counter() - started
            _summary(console, result)
    finally:
        release(str(project))  # the platform the worker's steps opened
    return result


def _settings(project: Path) -> Settings:
    """The project's settings, with the demo's steps allowed to run as jobs: added to
    ``jobs.modules`` in its ``shipyard.yaml``, so the schedule and the trigger the demo
    leaves run in any worker of the project (``shipyard worker --scheduler``)."""
    settings = load_settings(project)
    if demo_pipeline.MODULE in settings.jobs.modules:
        return settings
    path = project / CONFIG_FILE
    config = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    jobs = config.setdefault("jobs", {})
    jobs["modules"] = [*(jobs.get("modules") or []), demo_pipeline.MODULE]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return load_settings(project)


def _run(p: Platform, steps: _Steps, result: DemoResult, *, requests: int, **data: Any) -> None:
    with steps.step("Generate raw e-commerce data; apply the golden-path pipeline"):
        files = generate(p.settings.project_dir / "raw", **data)
        result.files = files
        spec = _declare(p, files)
    steps.note(
        f"{files.n_customers} customers, {files.bronze_orders + files.n_malformed} order lines "
        f"({files.n_malformed} malformed, {files.n_invalid} invalid, {files.n_duplicates} duplicates)"
    )
    steps.note(
        f"pipeline {spec.name}: {len(spec.spec.steps)} steps, run by a worker in this process"
    )
    workers = EmbeddedWorkers(p, workers=1, scheduler=False).start()
    run = _Run(
        p,
        p.pipelines.run(spec.name).id,
        progress=lambda: sum(w.processed for w in workers.workers),
        alive=lambda: workers.running,
    )
    result.pipeline_run = run.id
    try:
        _pipeline_steps(p, steps, result, run)
        with steps.step("Serve over HTTP and score customers with online features"):
            run.wait("deploy")
            workers.stop()  # the run is over: the API server gets the CPU
            result.schedule = _leave_schedule(p)
            _serve_and_score(p, result, requests)
    except BaseException:
        run.cancel()
        raise
    finally:
        workers.stop()
    steps.note(
        f"{len(result.latencies_ms)} requests: p50 {result.latency(50):.2f} ms, "
        f"p99 {result.latency(99):.2f} ms; HTTP == in-process "
        f"(max diff {result.http_vs_inprocess_max_diff:.1e})"
    )
    steps.note(f"pipeline run {run.id}: {run.summary()}")
    for line in result.schedule:
        steps.note(line)


def _declare(p: Platform, files: DemoFiles) -> Any:
    """Apply the pipeline (its steps declare the tables and features, as code, once
    what they read exists). Each bronze table ingests a glob of ``raw/``: a file
    dropped there (``orders-2026-12-07.csv``) is ingested by the next daily run, the
    files already in bronze are skipped."""
    raw = {
        "bronze.customers": _glob(files.customers),
        "bronze.orders": _glob(files.orders),
        "bronze.labels": _glob(files.labels),
    }
    spec = demo_pipeline.golden_path(raw)
    p.pipelines.apply([spec])
    return spec


def _glob(path: Path) -> str:
    """``raw/orders.csv`` -> ``raw/orders*.csv``."""
    return str(path.with_name(f"{path.stem}*{path.suffix}"))


def _leave_schedule(p: Platform) -> list[str]:
    """Apply ``churn_retrain`` (gold exists now: a trigger's table must) and describe
    what stays scheduled: ``churn`` daily, ``churn_retrain`` on each gold commit.
    Nothing fires in the demo: a scheduler does (``shipyard worker --scheduler``,
    ``shipyard serve``), from its first pass on."""
    p.pipelines.apply([demo_pipeline.retrain()])
    churn = p.pipelines.get(demo_pipeline.NAME).spec["schedule"]
    return [
        f"schedule: {demo_pipeline.NAME} daily, cron '{churn['cron']}' {churn['timezone']} "
        f"(catch-up {churn['catchup']})",
        f"trigger: {demo_pipeline.RETRAIN} (training set -> ... -> materialize) on each "
        f"commit to {demo_pipeline.GOLD}",
    ]


def _pipeline_steps(p: Platform, steps: _Steps, result: DemoResult, run: _Run) -> None:
    with steps.step("Ingest raw files into bronze Delta tables"):
        ingested = run.wait("ingest")["ingest"]
        result.rows.update(ingested["rows"])
        result.quarantined.update(ingested["quarantined"])
    steps.note(_counts(result, "bronze"))
    with steps.step("Build silver (typed, deduplicated, quarantined) and gold with DuckDB"):
        curated = run.wait("curate")["curate"]
        result.rows.update(curated["rows"])
        result.quarantined.update(curated["quarantined"])
    steps.note(_counts(result, "silver", "gold"))
    with steps.step("Register features; build a point-in-time correct training set"):
        ts = run.wait("training_set")["training_set"]
        result.rows["datasets.churn_train"] = ts["rows"]
    steps.note(
        f"training set datasets.churn_train v{ts['version']}: "
        f"{ts['rows']} rows x {len(FEATURES)} features"
    )
    with steps.step("Train a classifier; track the run"):
        trained = run.wait("train")["train"]
        auc = trained["auc"]  # null when undefined (one class only in a tiny test split)
        result.auc, result.run_id = float("nan") if auc is None else auc, trained["run_id"]
    steps.note(f"run {result.run_id}: AUC {result.auc:.3f}")
    with steps.step("Register the model version; promote it to champion after approval"):
        result.model_version = run.wait("register", "promote", "approve")["register"]["version"]
    steps.note(f"models:/churn@champion -> version {result.model_version}")
    with steps.step("Materialize the latest features into the online store"):
        materialized = run.wait("materialize")["materialize"]
    steps.note(", ".join(f"{m['view']}: {m['entities']} entities" for m in materialized))


class _Run:
    """The demo's pipeline run, seen from the demo: wait for steps, read their results.

    It reads the run row often just after the worker ended a job (``progress`` moved)
    and seldom during a long step, so that polling takes little from the step's thread.
    """

    def __init__(
        self, p: Platform, run_id: str, progress: Callable[[], int], alive: Callable[[], bool]
    ) -> None:
        self.p, self.id, self.progress, self.alive = p, run_id, progress, alive

    def wait(self, *names: str, timeout: float = 900.0) -> dict[str, Any]:
        """The results of steps ``names`` once they all succeeded (raises if the run failed)."""
        deadline = time.monotonic() + timeout
        pause, seen = 0.005, self.progress()
        while True:
            run = self.p.pipelines.get_run(self.id)
            if run.state not in ("running", "succeeded"):
                raise RuntimeError(f"pipeline run {self.id} {run.state}: {run.error}")
            if not self.alive():  # its error is logged; the run would wait forever
                raise RuntimeError(f"pipeline run {self.id}: the demo's worker stopped")
            if all(run.steps[n].get("state") == "succeeded" for n in names):
                return {n: self.p.jobs.get(run.steps[n]["job"]).result for n in names}
            if time.monotonic() > deadline:
                raise TimeoutError(f"pipeline run {self.id}: {', '.join(names)} not done")
            time.sleep(pause)
            now = self.progress()
            pause, seen = (0.005, now) if now != seen else (min(pause * 2, 0.1), seen)

    def cancel(self) -> None:
        with contextlib.suppress(Exception):
            self.p.pipelines.cancel_run(self.id)

    def summary(self) -> str:
        run = self.p.pipelines.get_run(self.id)
        done = sum(1 for s in run.steps.values() if s.get("state") == "succeeded")
        return (
            f"{run.state}, {done}/{len(run.steps)} steps (shipyard pipelines runs {run.pipeline})"
        )


def _new_project_dir(directory: Path | None) -> Path:
    if directory is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        directory = Path.cwd() / f"shipyard-demo-{stamp}"
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _counts(result: DemoResult, *layers: str) -> str:
    parts = [f"{name}: {n}" for name, n in result.rows.items() if name.split(".")[0] in layers]
    q = [f"{name}: {n}" for name, n in result.quarantined.items() if name.split(".")[0] in layers]
    return "; ".join(parts) + (f"  [quarantined] {'; '.join(q)}" if q else "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(p: Platform) -> Iterator[str]:
    port = _free_port()
    project = p.settings.project_dir
    # The server opens the platform the demo uses, whatever the source of each setting.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(settings_env(p.settings))
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "-C", str(project), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60  # a loaded machine starts it slowly
            while True:
                try:
                    if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode()[-2000:]
                    raise RuntimeError(f"the API server did not start:\n{tail}")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _serve_and_score(p: Platform, result: DemoResult, requests: int) -> None:
    client_principal = demo_pipeline.ensure_principal(p, "demo-client", role="predictor")
    token = p.security.create_token(principal=client_principal.name, name="demo").token
    ids = p.lake.sql("SELECT customer_id FROM silver.customers ORDER BY customer_id").to_pandas()
    customer_ids = [int(c) for c in ids["customer_id"]]
    rng = np.random.default_rng(0)
    chosen = [customer_ids[i] for i in rng.integers(0, len(customer_ids), requests)]
    served: dict[int, float] = {}
    with (
        _server(p) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ) as http,
    ):
        for _ in range(5):  # warm up the connection and the model cache
            http.post(
                "/api/v1/deployments/churn/predict", json={"inputs": [{"customer_id": chosen[0]}]}
            )
        for cid in chosen:
            t0 = time.perf_counter()
            r = http.post(
                "/api/v1/deployments/churn/predict", json={"inputs": [{"customer_id": cid}]}
            )
            result.latencies_ms.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            body = r.json()
            served[cid] = float(body["predictions"][0])
            for status in body.get("feature_status", [{}])[0].values():
                result.feature_statuses[status] = result.feature_statuses.get(status, 0) + 1
    # The same customers scored in-process from the same online features and model.
    sample = sorted(served)[:50]
    online = p.features.get_online_features(
        feature_service="churn", entity_rows=[{"customer_id": c} for c in sample]
    ).to_dict()
    frame = pd.DataFrame({name: online[name] for name in FEATURES}).astype("float64")
    local = p.registry.load_model("models:/churn@champion").predict(frame)
    result.http_vs_inprocess_max_diff = float(
        np.max(np.abs(np.asarray(local, dtype=float) - np.array([served[c] for c in sample])))
    )


def _summary(console: Console, r: DemoResult) -> None:
    console.print()
    console.print("[bold]Summary[/bold]")
    for layer in ("bronze", "silver", "gold", "datasets"):
        tables = {k: v for k, v in r.rows.items() if k.startswith(layer + ".")}
        if tables:
            console.print(f"  {layer:<9}" + ", ".join(f"{k} {v:,} rows" for k, v in tables.items()))
    q = sum(r.quarantined.values())
    console.print(
        f"  quarantined {q} rows: " + ", ".join(f"{k} {v}" for k, v in r.quarantined.items())
    )
    console.print(
        f"  model      churn v{r.model_version} (champion), AUC {r.auc:.3f}, run {r.run_id}"
    )
    console.print(
        f"  serving    {len(r.latencies_ms)} HTTP predictions, p50 {r.latency(50):.2f} ms, "
        f"p99 {r.latency(99):.2f} ms"
    )
    console.print(f"  pipeline   churn, run {r.pipeline_run}", markup=False)
    for line in r.schedule:
        console.print(f"             {line}", markup=False)
    console.print(f"  wall time  {r.wall_seconds:.1f} s")
    console.print()
    console.print("Where to look next (the project stays in place):")
    console.print(f"  cd {r.project}", markup=False)
    console.print(
        "  shipyard catalog lineage model:churn     # from the model back to the raw files"
    )
    console.print("  shipyard catalog search                  # every asset the demo made")
    console.print("  shipyard pipelines runs churn            # the run that did it, step by step")
    console.print("  shipyard pipelines show churn            # its steps, daily schedule, retrain")
    console.print(
        "  shipyard worker --scheduler              # runs it daily; retrains on gold commits"
    )
    console.print("  shipyard audit list                      # who did what")
    console.print(
        "  shipyard serve                           # the API at http://127.0.0.1:8765/api/v1/docs"
    )
    console.print(
        "  shipyard tokens create --name me         # then sign in to the web UI at http://127.0.0.1:8765/ui"
    )
