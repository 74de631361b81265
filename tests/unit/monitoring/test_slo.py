"""SLOs over synthetic inference-log rows: burn opens an incident, recovery resolves it,
no data opens nothing; the scorecard counts it; hostile callers get 4xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

import shipyard
from shipyard.cli.main import run
from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.monitoring import slo as slo_math
from shipyard.monitoring.slo import SLO
from shipyard.platform import Platform
from shipyard.serving.predlog import LOG_TABLE, to_arrow
from tests.servers import live_server

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROUTE = "/api/v1/monitoring/deployments/churn/slos"
MALFORMED = [
    ("PUT", ROUTE + "/p99", {"kind": "latency", "objective": 0.99}),  # no threshold
    ("PUT", ROUTE + "/p99", {"kind": "latency", "objective": 2, "threshold_ms": 5}),
    ("PUT", ROUTE + "/p99", {"kind": "latency", "objective": "x", "threshold_ms": 5}),
    ("PUT", ROUTE + "/p99", {"kind": "speed", "objective": 0.9}),
    ("PUT", ROUTE + "/p99", {"kind": "availability", "objective": 0.9, "threshold_ms": 5}),
    ("PUT", ROUTE + "/p99", {"kind": "availability", "objective": 0.9, "period_seconds": 1e300}),
    ("PUT", ROUTE + "/p99", {"kind": "availability", "objective": 0.9, "min_requests": -1}),
    ("PUT", ROUTE + "/Bad%20Name", {"kind": "availability", "objective": 0.9}),
    ("PUT", ROUTE + "/p99", [1, 2]),
    ("PUT", ROUTE + "/p99", None),
    (
        "PUT",
        "/api/v1/monitoring/deployments/nope/slos/p99",
        {"kind": "availability", "objective": 0.9},
    ),
    ("DELETE", ROUTE + "/never", None),
    ("GET", "/api/v1/monitoring/deployments/nope/slos", None),
    ("POST", ROUTE + "/evaluate", {"end": "yesterday"}),
    ("POST", "/api/v1/monitoring/deployments/nope/slos/evaluate", None),
    ("GET", "/api/v1/monitoring/deployments/churn/incidents?limit=0", None),
    ("GET", "/api/v1/monitoring/deployments/churn/incidents?limit=x", None),
]


def _arrays(
    end: datetime, n: int, seconds: float, bad_every: int = 0, latency: float = 5.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` requests spread over the ``seconds`` before ``end``; every ``bad_every``-th fails."""
    end_us = int(end.timestamp() * 1e6)
    ts = end_us - np.linspace(1, seconds * 1e6, n).astype(np.int64)
    failed = np.zeros(n, bool)
    if bad_every:
        failed[::bad_every] = True
    return ts, np.full(n, latency), failed


def test_burn_rates_follow_the_workbook_rules() -> None:
    avail = SLO(deployment="d", name="avail", kind="availability", objective=0.99)
    # 10 % errors over the last hour: burn 10x, below 14.4 on 1h/5m; 6h/30m burns only
    # if the six hours do: they hold the same 10 % here, so 6h/30m >= 6 fires.
    st = slo_math.evaluate(avail, T0, *_arrays(T0, 600, 6 * 3600, bad_every=10))
    assert st.status == "burning" and st.firing == ["6h/30m>=6x"]
    assert st.budget_remaining == pytest.approx(1 - 10.0)
    # 50 % errors: both rules fire.
    st = slo_math.evaluate(avail, T0, *_arrays(T0, 600, 6 * 3600, bad_every=2))
    assert st.firing == ["1h/5m>=14.4x", "6h/30m>=6x"]
    # 0.5 % errors: half the budget's rate, nothing fires.
    st = slo_math.evaluate(avail, T0, *_arrays(T0, 2000, 6 * 3600, bad_every=200))
    assert st.status == "ok" and st.firing == [] and st.sli == pytest.approx(0.995)
    # No requests, or too few to say: no_data, never burning.
    st = slo_math.evaluate(avail, T0, *_arrays(T0, 0, 3600))
    assert st.status == "no_data" and st.sli is None and st.budget_remaining is None
    st = slo_math.evaluate(avail, T0, *_arrays(T0, 5, 3600, bad_every=1))
    assert st.status == "no_data"


def test_latency_counts_slow_and_failed_requests_as_bad() -> None:
    fast = SLO(deployment="d", name="p99", kind="latency", objective=0.99, threshold_ms=50)
    ts, lat, failed = _arrays(T0, 400, 3600, latency=20.0)
    assert slo_math.evaluate(fast, T0, ts, lat, failed).status == "ok"
    lat[::2] = 80.0  # half the requests too slow: 50x burn
    st = slo_math.evaluate(fast, T0, ts, lat, failed)
    assert st.status == "burning" and st.bad == 200
    with pytest.raises(ValueError, match="threshold_ms"):
        SLO(deployment="d", name="x", kind="latency", objective=0.99)


def _log(p: Platform, end: datetime, n: int, seconds: float, bad_every: int = 0) -> None:
    ts, lat, failed = _arrays(end, n, seconds, bad_every)
    records = [
        {
            "request_id": f"r{end.timestamp()}-{i}",
            "row": 0,
            "ts": t / 1e6,
            "deployment": "churn",
            "deployment_version": 1,
            "variant": "a",
            "shadow": False,
            "model": "churn",
            "model_version": 3,
            "entity_key": None,
            "routing_key": "k",
            "features": {"f0": 1.0},
            "prediction": None if bad else 0.5,
            "latency_ms": float(ms),
            "error": "Boom" if bad else None,
        }
        for i, (t, ms, bad) in enumerate(zip(ts, lat, failed, strict=True))
    ]
    p.lake.write(LOG_TABLE, to_arrow(records), mode="append", schema_evolution=True)


def test_burn_opens_an_incident_recovery_resolves_it_in_process_cli_and_http(
    monitored: Platform, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One served deployment (its fixture costs seconds) for every skin."""
    p = monitored
    p.monitoring.put_slo("churn", "avail", kind="availability", objective=0.99)
    assert p.monitoring.evaluate_slos("churn", end=T0)[0].status == "no_data"
    assert p.monitoring.list_incidents("churn") == []  # no data, no incident

    _log(p, T0, 300, 3600, bad_every=2)  # half of the last hour failed
    burning = p.monitoring.evaluate_slos("churn", end=T0)[0]
    assert burning.status == "burning" and burning.incident is not None
    assert burning.incident.state == "open" and burning.incident.opened_at == T0
    again = p.monitoring.evaluate_slos("churn", end=T0 + timedelta(seconds=60))[0]
    assert again.incident is not None and again.incident.id == burning.incident.id  # one

    later = T0 + timedelta(hours=7)  # the burn has left every rule's windows
    _log(p, later, 300, 3600)
    healthy = p.monitoring.evaluate_slos("churn", end=later)[0]
    assert healthy.status == "ok" and healthy.incident is not None
    assert healthy.incident.state == "resolved" and healthy.incident.resolved_at == later
    [incident] = p.monitoring.list_incidents("churn")
    assert incident.state == "resolved" and incident.opened_at == T0

    alerts = p.events.read_records("monitoring.alerts")
    states = [(a.value["type"], a.value["state"]) for a in alerts]
    assert states == [("slo", "firing"), ("slo", "resolved")]
    audited = p.audit.list_records(action="monitoring.evaluate_slos").items
    assert len(audited) == 4  # every evaluation, incidents or not
    card = p.monitoring.scorecard(days=366)
    assert card.slo_incidents == 1 and card.incidents >= 1
    _definitions_are_validated_and_authorized(p)
    _cli(project_dir, capsys)
    _over_http(p)


def _definitions_are_validated_and_authorized(p: Platform) -> None:
    for bad in (
        {"kind": "latency", "objective": 0.99},  # no threshold
        {"kind": "availability", "objective": 1.0},
        {"kind": "availability", "objective": 0.9, "threshold_ms": 10},
        {"kind": "throughput", "objective": 0.9},
        {"kind": "availability", "objective": 0.9, "period_seconds": 10},
    ):
        with pytest.raises(InvalidArgument):
            p.monitoring.put_slo("churn", "x", **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        p.monitoring.put_slo("churn", "Bad Name", kind="availability", objective=0.9)
    with pytest.raises(NotFound):
        p.monitoring.put_slo("nope", "x", kind="availability", objective=0.9)
    with pytest.raises(NotFound):
        p.monitoring.delete_slo("churn", "x")
    p.monitoring.delete_slo("churn", "avail")
    made = p.monitoring.put_slo("churn", "p99", kind="latency", objective=0.99, threshold_ms=200)
    assert p.monitoring.list_slos("churn") == [made]
    p.security.create_principal("eve", role="editor", team="other")
    eve = p.as_principal(p.security.get_principal("eve"))
    with pytest.raises((PermissionDenied, NotFound)):
        eve.monitoring.put_slo("churn", "p99", kind="availability", objective=0.5)
    with pytest.raises((PermissionDenied, NotFound)):
        eve.monitoring.evaluate_slos("churn")
    p.monitoring.delete_slo("churn", "p99")
    assert p.monitoring.list_slos("churn") == []


def _cli(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def cli(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        got = run(["-C", str(project_dir), "monitor", *args])
        out, err = capsys.readouterr()
        assert got == code, (args, out, err)
        return out

    cli(
        "slo",
        "set",
        "churn",
        "lat",
        "--kind",
        "latency",
        "--objective",
        "0.9",
        "--threshold-ms",
        "100",
    )
    assert '"name": "lat"' in cli("slo", "list", "churn", "--json")
    cli("slo", "evaluate", "churn", "--fail-on-burn")  # the log's rows are hours old
    assert '"state": "resolved"' in cli("incidents", "churn", "--json")
    cli("slo", "delete", "churn", "lat")
    cli("slo", "set", "churn", "x", "--kind", "latency", "--objective", "0.9", code=1)


def _over_http(p: Platform) -> None:
    t1 = T0 + timedelta(days=1)
    with live_server(p) as url:
        token = p.security.create_token(principal="local-admin").token
        with shipyard.connect(url, token) as client:
            remote = client.monitoring
            made = remote.put_slo("churn", "avail", kind="availability", objective=0.99)
            assert remote.list_slos("churn") == [made]
            _log(p, t1, 300, 3600, bad_every=2)
            [burning] = remote.evaluate_slos("churn", end=t1)
            assert burning.status == "burning" and burning.incident is not None
            newest = remote.list_incidents("churn", limit=1)
            assert [(i.id, i.state) for i in newest] == [(burning.incident.id, "open")]
            with pytest.raises(InvalidArgument):
                remote.put_slo("churn", "p99", kind="latency", objective=0.99)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
            for method, path, body in MALFORMED:
                r = c.request(method, path, json=body)
                assert 400 <= r.status_code < 500, f"{method} {path} {body}: {r.text}"
