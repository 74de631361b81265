"""Monitoring over HTTP: the routes, /metrics on both servers, readiness, hostile callers."""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from shipyard.errors import BackendUnavailable
from shipyard.platform import Platform
from shipyard.serving.context import workers_for
from shipyard.serving.server import create_serving_app, settle
from tests.conftest import shared_project
from tests.servers import live_server
from tests.unit.monitoring.conftest import build_monitored, serve, write_features


def _auth(p: Platform, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {p.security.create_token(principal=name).token}"}


@contextmanager
def _served(p: Platform) -> Iterator[httpx.Client]:
    """``p`` with principals ed (editor), eve (another team's editor), nobody (no role)."""
    p.security.create_principal("ed", role="editor")
    p.security.create_principal("eve", role="editor", team="other")
    p.security.create_principal("nobody", role="viewer")
    p.security.revoke_role("nobody", team=p.context.default_team)
    with live_server(p) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


@pytest.fixture
def http(monitored: Platform) -> Iterator[httpx.Client]:
    with _served(monitored) as c:
        yield c


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, httpx.Client]]:
    """One monitored project and server shared by the malformed-input cases: each is
    refused with a 4xx and writes nothing, so they need not build a project apiece (the
    build is 4-9 s on CI's busy cores; 28 cases)."""
    with shared_project(tmp_path_factory, "monitoring-http") as p:
        build_monitored(p)
        with _served(p) as c:
            yield p, c


def _value(body: str, series: str) -> float:
    """The value of one series in a Prometheus text body (0 when absent)."""
    for line in body.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


RUN_DRIFT_OK = 'shipyard_http_requests_total{method="POST",route="run_drift",status="2xx"}'
RUN_DRIFT_ALL = 'shipyard_http_request_duration_seconds_bucket{le="+Inf",route="run_drift"}'


def test_drift_and_profiles_over_http(monitored: Platform, http: httpx.Client) -> None:
    write_features(monitored, shift=2.0, seed=5)
    serve(monitored)
    ed = _auth(monitored, "ed")
    admin = _auth(monitored, "local-admin")
    # The request counters are per process: other tests' calls are counted too.
    before = http.get("/metrics", headers=admin).text
    r = http.post(
        "/api/v1/monitoring/deployments/churn/drift", json={"window_seconds": 600}, headers=ed
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "drift" and "f0" in [
        f["feature"] for f in r.json()["features"] if f["drifted"]
    ]
    listed = http.get("/api/v1/monitoring/deployments/churn/drift", headers=ed).json()
    assert [x["id"] for x in listed] == [r.json()["id"]]
    prof = http.get("/api/v1/monitoring/profiles/model/churn", headers=ed)
    assert prof.status_code == 200 and prof.json()["version"] == 3
    made = http.post(
        "/api/v1/monitoring/profiles",
        json={"table": "gold.customer_features", "columns": ["f1"]},
        headers=ed,
    )
    assert made.status_code == 201 and list(made.json()["features"]) == ["f1"]

    text = http.get("/metrics", headers=admin)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    body = text.text
    assert 'shipyard_drift_detected{deployment="churn"} 1.0' in body
    assert 'shipyard_drift_psi{deployment="churn",feature="f0"}' in body
    assert _value(body, RUN_DRIFT_OK) == _value(before, RUN_DRIFT_OK) + 1
    assert _value(body, RUN_DRIFT_ALL) == _value(before, RUN_DRIFT_ALL) + 1
    assert 'shipyard_predictions_total{deployment="churn",variant="a"}' in body


SLO = "/api/v1/monitoring/deployments/churn/slos"
SLO_ROUTES = [
    ("PUT", SLO + "/avail", {"kind": "availability", "objective": 0.99}),
    ("GET", SLO, None),
    ("DELETE", SLO + "/avail", None),
    ("POST", SLO + "/evaluate", None),
    ("GET", "/api/v1/monitoring/deployments/churn/incidents", None),
]


@pytest.mark.parametrize("who", ["eve", "nobody"])
def test_hostile_callers_get_4xx_and_change_nothing(
    monitored: Platform, http: httpx.Client, who: str
) -> None:
    h = _auth(monitored, who)
    for method, url, body in [
        ("POST", "/api/v1/monitoring/deployments/churn/drift", {}),
        ("GET", "/api/v1/monitoring/deployments/churn/drift", None),
        ("POST", "/api/v1/monitoring/profiles", {"table": "gold.customer_features"}),
        ("POST", "/api/v1/monitoring/profiles/model/churn/3", {}),
        ("GET", "/api/v1/monitoring/profiles/model/churn", None),
        ("GET", "/api/v1/monitoring/deployments/churn/performance", None),
        ("POST", "/api/v1/monitoring/tables/gold.customer_features/quality", None),
        ("GET", "/api/v1/monitoring/tables/gold.customer_features/quality", None),
        ("GET", "/api/v1/scorecard", None),
        ("GET", "/metrics", None),
        *SLO_ROUTES,
    ]:
        r = http.request(method, url, json=body, headers=h)
        assert r.status_code in (403, 404), f"{method} {url}: {r.status_code} {r.text}"
    assert monitored.monitoring.list_drift_reports("churn") == []
    assert monitored.monitoring.list_slos("churn") == []
    assert monitored.monitoring.list_incidents("churn") == []
    assert http.get("/metrics").status_code == 401  # no token at all
    assert monitored.monitoring.table_quality("gold.customer_features") == []
    if who == "nobody":  # a role-less token reads no definitions, so no views
        r = http.get("/api/v1/monitoring/features/freshness", headers=h)
        assert r.status_code == 403 or r.json() == [], r.text
    for url in (
        "/api/v1/monitoring/deployments/churn/performance",
        "/api/v1/monitoring/tables/gold.customer_features/quality",
        "/api/v1/monitoring/features/freshness",
        "/api/v1/scorecard",
    ):
        assert http.get(url).status_code == 401


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/api/v1/monitoring/deployments/churn/drift", {"window_seconds": -1}),
        ("POST", "/api/v1/monitoring/deployments/churn/drift", {"window_seconds": "x"}),
        ("POST", "/api/v1/monitoring/deployments/churn/drift", {"window_seconds": 1e300}),
        ("POST", "/api/v1/monitoring/deployments/churn/drift", [1, 2]),
        ("POST", "/api/v1/monitoring/profiles", {"table": ""}),
        ("POST", "/api/v1/monitoring/profiles", {"table": "gold.nope"}),
        ("POST", "/api/v1/monitoring/profiles", {"table": "gold.customer_features", "version": -1}),
        (
            "POST",
            "/api/v1/monitoring/profiles",
            {"table": "gold.customer_features", "columns": ["zz"]},
        ),
        ("POST", "/api/v1/monitoring/profiles/model/churn/99", {}),
        ("POST", "/api/v1/monitoring/profiles/model/churn/1", {}),  # no training data logged
        ("GET", "/api/v1/monitoring/profiles/bogus/churn", None),
        ("GET", "/api/v1/monitoring/profiles/model/churn?version=abc", None),
        ("GET", "/api/v1/monitoring/deployments/nope/drift", None),
        ("GET", "/api/v1/monitoring/deployments/churn/drift?limit=0", None),
        ("GET", "/api/v1/monitoring/deployments/nope/performance", None),
        ("GET", "/api/v1/monitoring/deployments/churn/performance?window_seconds=0", None),
        ("GET", "/api/v1/monitoring/deployments/churn/performance?window_seconds=x", None),
        ("GET", "/api/v1/monitoring/deployments/churn/performance?window_seconds=1e300", None),
        ("GET", "/api/v1/monitoring/deployments/churn/performance?bucket_seconds=-5", None),
        ("GET", "/api/v1/monitoring/deployments/churn/performance?bucket_seconds=1", None),
        (
            "GET",
            "/api/v1/monitoring/deployments/churn/performance?window_seconds=60&bucket_seconds=61",
            None,
        ),
        ("POST", "/api/v1/monitoring/tables/gold.nope/quality", None),
        ("POST", "/api/v1/monitoring/tables/no-layer/quality", None),
        ("GET", "/api/v1/monitoring/tables/gold.customer_features/quality?limit=0", None),
        ("GET", "/api/v1/monitoring/tables/gold.customer_features/quality?limit=x", None),
        ("GET", "/api/v1/scorecard?days=0", None),
        ("GET", "/api/v1/scorecard?days=x", None),
        ("GET", "/api/v1/scorecard?days=1e300", None),
    ],
)
def test_malformed_input_is_4xx_never_500(
    refusing: tuple[Platform, httpx.Client], method: str, url: str, body: object
) -> None:
    monitored, http = refusing
    r = http.request(method, url, json=body, headers=_auth(monitored, "local-admin"))
    assert 400 <= r.status_code < 500, f"{r.status_code} {r.text}"


def test_inference_server_metrics_and_readiness(monitored: Platform) -> None:
    admin = _auth(monitored, "local-admin")
    monitored.security.create_principal("ed", role="editor")
    with (
        live_server(monitored, create_serving_app) as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        assert c.get("/v2/health/ready").json()["ready"] is True
        r = c.post(
            "/api/v1/deployments/churn/predict",
            json={"inputs": [{"customer_id": 1}]},
            headers=admin,
        )
        assert r.status_code == 200
        body = c.get("/metrics", headers=admin).text
        assert 'shipyard_http_requests_total{method="POST",route="predict",status="2xx"}' in body
        # the prediction read its features from the online store: its latency is exported
        assert _value(body, "shipyard_online_store_read_duration_seconds_count") >= 1
        assert 'shipyard_online_store_read_duration_seconds_bucket{le="+Inf"}' in body
        assert c.get("/metrics", headers=_auth(monitored, "ed")).status_code in (401, 403)
        pids = workers_for(monitored.serving).pids()
        assert pids, "the model is served by a worker process"
        os.kill(pids[0], signal.SIGKILL)
        os.waitpid(pids[0], 0)
        ready = c.get("/v2/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["workers"] == "0 of 1 alive"
        # the next call restarts the worker, and the probe follows
        c.post(
            "/api/v1/deployments/churn/predict",
            json={"inputs": [{"customer_id": 1}]},
            headers=admin,
        )
        assert c.get("/v2/health/ready").status_code == 200


def test_readiness_waits_for_deployments_that_failed_to_load_at_start(
    monitored: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment whose models could not load at start (here: the model store is down
    for the preload) keeps the inference server not ready, naming no asset, until a
    later request has loaded it."""
    runtime = monitored.serving.runtime
    runtime.forget("churn")
    load = runtime._load

    def store_down(name: str):  # type: ignore[no-untyped-def]
        raise BackendUnavailable("model store unavailable")

    monkeypatch.setattr(runtime, "_load", store_down)
    monkeypatch.setattr(gc, "freeze", lambda: None)  # settle's freeze would pin this process
    app = create_serving_app(monitored)
    settle(app, monitored)
    assert app.state.unloaded == ["churn"]
    monkeypatch.setattr(runtime, "_load", load)  # the store is back
    with live_server(monitored, lambda _p: app) as url, httpx.Client(base_url=url) as c:
        r = c.get("/v2/health/ready")
        assert r.status_code == 503
        assert r.json()["checks"]["models"] == "1 deployment(s) not loaded"
        assert "churn" not in r.text
        predicted = c.post(
            "/api/v1/deployments/churn/predict",
            json={"inputs": [{"customer_id": 1}]},
            headers=_auth(monitored, "local-admin"),
        )
        assert predicted.status_code == 200
        r = c.get("/v2/health/ready")
        assert r.status_code == 200 and r.json()["checks"]["models"] == "ok"


def test_readiness_says_not_ready_without_the_metadata_db(
    monitored: Platform, http: httpx.Client
) -> None:
    assert http.get("/v2/health/ready").status_code == 200
    engine = monitored.context.db.engine
    real = engine.connect

    def broken(*a: object, **k: object) -> object:
        raise RuntimeError("db down")

    engine.connect = broken  # type: ignore[method-assign]
    try:
        r = http.get("/v2/health/ready")
    finally:
        engine.connect = real  # type: ignore[method-assign]
    assert r.status_code == 503 and r.json()["checks"]["catalog"].startswith("unavailable")
    assert http.get("/v2/health/ready").json()["checks"]["online_store"] == "ok"

    store = monitored.features.online_store  # the same store the probe reads

    def down(*a: object, **k: object) -> object:
        raise ConnectionError("online store down")

    store.read_one = down  # type: ignore[method-assign]
    try:
        r = http.get("/v2/health/ready")
    finally:
        del store.read_one
    assert r.status_code == 503, r.text
    assert r.json()["checks"]["online_store"] == "unavailable (ConnectionError)"
    assert http.get("/v2/health/ready").status_code == 200


def test_model_performance_over_http(monitored: Platform, http: httpx.Client) -> None:
    write_features(monitored, seed=0)
    served = [monitored.serving.predict("churn", [{"customer_id": i}]) for i in range(30)]
    monitored.serving.flush_prediction_log()
    ed = _auth(monitored, "ed")
    outcomes = [{"request_id": r.request_id, "outcome": float(i % 2)} for i, r in enumerate(served)]
    posted = http.post(
        "/api/v1/deployments/churn/ground-truth", json={"outcomes": outcomes[:10]}, headers=ed
    )
    assert posted.status_code == 200, posted.text
    r = http.get(
        "/api/v1/monitoring/deployments/churn/performance",
        params={"window_seconds": 3600, "bucket_seconds": 600},
        headers=ed,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["task"] == "classification"
    assert [(v["variant"], v["predictions"], v["labeled"]) for v in body["variants"]] == [
        ("a", 30, 10)
    ]
    assert body["variants"][0]["auc"] is not None and body["buckets"]


def test_table_quality_and_freshness_over_http(monitored: Platform, http: httpx.Client) -> None:
    ed = _auth(monitored, "ed")
    url = "/api/v1/monitoring/tables/gold.customer_features/quality"
    made = http.post(url, headers=ed)
    assert made.status_code == 201, made.text
    assert made.json()["rows"] > 0 and "f0" in made.json()["null_rates"]
    assert [s["id"] for s in http.get(url, headers=ed).json()] == [made.json()["id"]]
    fresh = http.get("/api/v1/monitoring/features/freshness", headers=ed)
    assert fresh.status_code == 200 and fresh.json() and fresh.json()[0]["watermark"]
    card = http.get(
        "/api/v1/scorecard", params={"days": 7}, headers=_auth(monitored, "local-admin")
    )
    assert card.status_code == 200, card.text
    assert card.json()["deployments"] >= 1 and card.json()["models_in_production"] == 1


def test_drift_run_settings_over_http_and_the_client(
    monitored: Platform, http: httpx.Client
) -> None:
    """``thresholds`` and ``features`` in the drift POST body (a monitor's settings)."""
    import shipyard

    url = "/api/v1/monitoring/deployments/churn/drift"
    admin = _auth(monitored, "local-admin")
    body: object
    for body in (
        {"thresholds": {"psi": "high"}},
        {"thresholds": {"psi": -1}},
        {"thresholds": {"nope": 1}},
        {"thresholds": [0.1]},
        {"thresholds": {f"k{i}": 1 for i in range(6)}},
        {"features": "f0"},
        {"features": [1, 2]},
        {"features": ["x" * 600]},
    ):
        r = http.post(url, json=body, headers=admin)
        assert 400 <= r.status_code < 500, f"{body}: {r.status_code} {r.text}"
    for who in ("eve", "nobody"):  # another team's editor, a role-less token
        body = {"thresholds": {"min_rows": 1}, "features": ["f0"]}
        r = http.post(url, json=body, headers=_auth(monitored, who))
        assert r.status_code in (403, 404), r.text
    assert monitored.monitoring.list_drift_reports("churn") == []

    write_features(monitored, shift=1.5, seed=2)
    serve(monitored, n=120)
    with shipyard.connect(str(http.base_url), admin["Authorization"][7:]) as client:
        report = client.monitoring.run_drift(
            "churn", window_seconds=600, thresholds={"min_rows": 200}, features=["f0"]
        )
        assert report.status == "insufficient_data" and report.thresholds.min_rows == 200
        report = client.monitoring.run_drift(
            "churn", window_seconds=600, thresholds={"min_rows": 50}, features=["f0"]
        )
    assert [f.feature for f in report.features] == ["f0"] and report.status == "drift"
