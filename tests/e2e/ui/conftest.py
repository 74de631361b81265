"""A live server with the web UI, two teams' assets, and Debian's chromium driven by Playwright.

The browser is launched by path (``/usr/bin/chromium`` or ``SHIPYARD_CHROMIUM``);
nothing is downloaded. Without it the browser tests skip, and fail when
``SHIPYARD_REQUIRE_SERVICES=1`` (CI installs it, see ``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipyard.platform import Platform
from tests.conftest import services_required
from tests.servers import live_server

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "ui"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class UIWorld:
    url: str
    platform: Platform
    tokens: dict[str, str] = field(default_factory=dict)


def seed(p: Platform) -> dict[str, str]:
    """ml: bronze -> silver -> gold tables and a model; risk: a table; a token per role."""
    rows = pd.DataFrame({"customer_id": [1, 2, 3], "amount": [9.5, 3.0, 7.25]})
    p.lake.write("bronze.ml_orders", rows, owner="ml")
    p.lake.write("silver.ml_orders", rows, owner="ml", sources=["table:bronze.ml_orders"])
    p.lake.write("gold.ml_churn_features", rows, owner="ml", sources=["table:silver.ml_orders"])
    p.catalog.register_asset(
        "model:churn",
        owner="ml",
        description="predicts churn",
        tags=["golden"],
        sources=["table:gold.ml_churn_features"],
    )
    p.lake.write("bronze.risk_secret_ledger", rows, owner="risk")
    p.lake.write("bronze.ml_clicks", pd.DataFrame({"n": range(100)}), owner="ml")
    p.lake.write("bronze.ml_clicks", pd.DataFrame({"n": range(100, 120)}), owner="ml")
    seed_models(p)
    tokens = {"admin": p.security.create_token(name="ui-admin").token}
    roles = [("ml", "viewer"), ("ml", "editor"), ("ml", "approver"), ("risk", "viewer")]
    for team, role in [*roles, ("risk", "editor")]:
        name = f"{team}_{role}"
        p.security.create_principal(name, team=team, role=role)
        tokens[name] = p.security.create_token(principal=name).token
    return tokens


def seed_models(p: Platform) -> None:
    """Two training runs of ``churn`` (a small sklearn model, 200 steps of loss), both
    registered, and the deployment ``churn`` serving ``churn@champion`` (version 1)."""
    from sklearn.linear_model import LogisticRegression

    from shipyard.serving.models import Variant
    from shipyard.tracking.models import Metric

    x = pd.DataFrame({"amount": [float(i) for i in range(40)]})
    y = [int(i > 20) for i in range(40)]
    p.tracking.create_experiment("churn", owner="ml")
    for i, c in enumerate((0.1, 1.0)):
        with p.tracking.start_run(experiment="churn", run_name=f"logreg-c{c}") as run:
            run.log_params({"C": c, "solver": "lbfgs"})
            loss = [
                Metric(key="loss", value=1 / (s + 2 + i), step=s, timestamp=s) for s in range(200)
            ]
            p.tracking.log_batch(run.id, metrics=loss)
            run.log_model(LogisticRegression(C=c).fit(x, y), "model", input_example=x.head(3))
        p.registry.register_model("churn", source=f"runs:/{run.id}/model", owner="ml")
    p.registry.set_alias("churn", "staging", 1)
    first = p.registry.set_alias("churn", "champion", 1)
    if first.pending:
        approver = p.security.create_principal("seed-approver", team="ml", role="approver")
        p.as_principal(approver).registry.approve_promotion(first.id)
    p.serving.create_deployment(
        "churn", variants=[Variant(name="champion", model="churn@champion")], owner="ml"
    )


@pytest.fixture(scope="module")
def ui_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIWorld]:
    project = tmp_path_factory.mktemp("ui") / "project"
    project.mkdir()
    (project / "shipyard.yaml").write_text("# UI tests\n")
    platform = Platform.open(project)
    try:
        tokens = seed(platform)
        with live_server(platform) as url:
            yield UIWorld(url=url, platform=platform, tokens=tokens)
    finally:
        platform.close()


def chromium_path() -> str | None:
    given = os.environ.get("SHIPYARD_CHROMIUM")
    if given:
        return given if os.path.exists(given) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    reason = "chromium is not installed (apt-get install chromium; .ci/run does)"
    if path is None:
        if services_required():
            pytest.fail(reason + " (SHIPYARD_REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if services_required():
            raise
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical accessibility violations on the page (ids and targets)."""
    # evaluated over the DevTools protocol: the pages' CSP (no inline or injected scripts)
    # stays in force for everything else the test does
    page.evaluate(AXE.read_text() + "\n;0")
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Any:
    """``shot(page, "name")`` saves a full-page screenshot under test-artifacts/ui/ and
    checks the page with axe (no serious or critical violations)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str, *, axe: bool = True) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}.png"), full_page=True)
        if axe:
            problems = serious_violations(page)
            assert not problems, f"{name}: {problems}"

    return take
