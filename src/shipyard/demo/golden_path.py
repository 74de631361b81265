"""`shipyard demo`: raw files to a served prediction, through the services only.

Each step is one or two service calls -- the same calls a user's project makes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape

from shipyard.config import settings_env
from shipyard.demo.data import DemoFiles, generate
from shipyard.demo.definitions import FEATURES, feature_definitions, table_definitions
from shipyard.platform import Platform

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
    """Run the golden path in ``directory`` (a new folder if omitted) and leave it there."""
    console = console or Console()
    started = time.perf_counter()
    project = _new_project_dir(directory)
    console.print(f"[bold]Shipyard golden path[/bold] in {escape(str(project))}")
    steps = _Steps(console)
    result = DemoResult(project=project)
    with Platform.open(project) as p:
        with steps.step("Generate raw e-commerce data"):
            files = generate(project / "raw", customers=customers, days=days, seed=seed)
            result.files = files
        steps.note(
            f"{files.n_customers} customers, {files.bronze_orders + files.n_malformed} order lines "
            f"({files.n_malformed} malformed, {files.n_invalid} invalid, {files.n_duplicates} duplicates)"
        )
        with steps.step("Ingest raw files into bronze Delta tables"):
            _ingest(p, files, result)
        steps.note(_counts(result, "bronze"))
        with steps.step("Build silver (typed, deduplicated, quarantined) and gold with DuckDB"):
            _curate(p, result)
        steps.note(_counts(result, "silver", "gold"))
        with steps.step("Register features; build a point-in-time correct training set"):
            training_set = _features(p)
            result.rows["datasets.churn_train"] = training_set.num_rows
        steps.note(
            f"training set datasets.churn_train v{training_set.version}: "
            f"{training_set.num_rows} rows x {len(FEATURES)} features"
        )
        with steps.step("Train a classifier; track the run"):
            auc, run_id = _train(p, training_set)
            result.auc, result.run_id = auc, run_id
        steps.note(f"run {run_id}: AUC {auc:.3f}")
        with steps.step("Register the model version; promote it to champion after approval"):
            result.model_version = _register(p, run_id)
        steps.note(f"models:/churn@champion -> version {result.model_version}")
        with steps.step("Materialize the latest features into the online store"):
            materialized = p.features.materialize()
        steps.note(", ".join(f"{m.view}: {m.entities} entities" for m in materialized))
        with steps.step("Serve over HTTP and score customers with online features"):
            _deploy(p)
            _serve_and_score(p, result, requests)
        steps.note(
            f"{len(result.latencies_ms)} requests: p50 {result.latency(50):.2f} ms, "
            f"p99 {result.latency(99):.2f} ms; HTTP == in-process "
            f"(max diff {result.http_vs_inprocess_max_diff:.1e})"
        )
        with steps.step("Summarise"):
            result.wall_seconds = time.perf_counter() - started
        _summary(console, result)
    return result


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


def _ingest(p: Platform, files: DemoFiles, result: DemoResult) -> None:
    for table, path in (
        ("bronze.customers", files.customers),
        ("bronze.orders", files.orders),
        ("bronze.labels", files.labels),
    ):
        r = p.lake.ingest(table, path)
        result.rows[table] = r.rows_written
        if r.rows_quarantined:
            result.quarantined[table] = r.rows_quarantined


def _curate(p: Platform, result: DemoResult) -> None:
    for definition in table_definitions():
        p.lake.define(definition)
    for r in p.lake.refresh_all():
        result.rows[r.table] = p.lake.get_table(r.table).num_rows
        if r.rows_quarantined:
            result.quarantined[r.table] = r.rows_quarantined


def _features(p: Platform) -> Any:
    p.features.apply(feature_definitions())
    labels = p.lake.sql(
        "SELECT customer_id, CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp, churned "
        "FROM bronze.labels ORDER BY event_timestamp, customer_id"
    ).to_pandas()
    return p.features.create_training_set("churn_train", labels, feature_service="churn")


def _train(p: Platform, training_set: Any) -> tuple[float, str]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    df = training_set.to_pandas()
    x = df[list(FEATURES)].astype("float64")
    y = df["churned"].astype(int)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    params = {"max_iter": 150, "learning_rate": 0.05, "max_depth": 4, "random_state": 0}
    with p.tracking.start_run(experiment="churn", run_name="hist-gbt") as run:
        run.log_input(training_set)
        run.log_params(params)
        model = HistGradientBoostingClassifier(**params).fit(x_train, y_train)
        auc = float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
        run.log_metrics(
            {"auc": auc, "train_rows": float(len(x_train)), "test_rows": float(len(x_test))}
        )
        run.log_model(model, "model", input_example=x_train.head(5), predict_method="predict_proba")
    return auc, run.id


def _register(p: Platform, run_id: str) -> int:
    mv = p.registry.register_model("churn", source=f"runs:/{run_id}/model")
    request = p.registry.set_alias("churn", "champion", mv.version)
    if getattr(request, "status", "approved") != "approved":
        approver = _ensure_principal(p, "demo-approver", role="approver")
        p.as_principal(approver).registry.approve_promotion(request.id)
    return int(mv.version)


def _ensure_principal(p: Platform, name: str, *, role: str) -> Any:
    from shipyard.errors import AlreadyExists

    try:
        return p.security.create_principal(name, kind="service", role=role)
    except AlreadyExists:
        return p.security.get_principal(name)


def _deploy(p: Platform) -> None:
    from shipyard.serving import Variant

    p.serving.create_deployment(
        "churn",
        variants=[Variant(name="champion", model="churn@champion", weight=100)],
        feature_service="churn",
        entity_keys=["customer_id"],
    )


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
            deadline = time.monotonic() + 30
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
    client_principal = _ensure_principal(p, "demo-client", role="predictor")
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
    console.print(f"  wall time  {r.wall_seconds:.1f} s")
    console.print()
    console.print("Where to look next (the project stays in place):")
    console.print(f"  cd {r.project}", markup=False)
    console.print(
        "  shipyard catalog lineage model:churn     # from the model back to the raw files"
    )
    console.print("  shipyard catalog search                  # every asset the demo made")
    console.print("  shipyard audit list                      # who did what")
    console.print(
        "  shipyard serve                           # the API at http://127.0.0.1:8765/api/v1/docs"
    )
    console.print(
        "  shipyard tokens create --name me         # then sign in to the web UI at http://127.0.0.1:8765/ui"
    )
