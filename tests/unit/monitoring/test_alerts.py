"""A drift alert fires once per incident (firing, then resolved), is recorded as an
incident in the catalog, published on the bus and POSTed to the configured webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from shipyard._internal.prom import REGISTRY
from shipyard.cli.main import run as run_cli
from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from tests.contract.serving.suite import FEATURES
from tests.unit.monitoring.conftest import serve, write_features


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local webhook receiver: (url, the JSON bodies it got)."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", got
    server.shutdown()
    server.server_close()


def _window(start: datetime, end: datetime) -> dict[str, Any]:
    return {"window_seconds": (end - start).total_seconds(), "end": end}


def test_drift_fires_once_per_incident_resolves_and_reaches_webhooks(
    monitored: Platform,
    hook: tuple[str, list[dict[str, Any]]],
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, got = hook
    dead = "http://127.0.0.1:9/nobody-listens"  # a failing webhook never fails the report
    monitored._ctx.settings.monitoring.alert_webhooks = [dead, url]
    empty = monitored.monitoring.run_drift("churn", window_seconds=60)  # says so, never fires
    assert empty.status == "insufficient_data" and empty.message == "no predictions logged yet"
    serve(monitored, n=5)
    short = monitored.monitoring.run_drift("churn", window_seconds=60)
    assert short.status == "insufficient_data" and "5 rows" in short.message
    assert monitored.monitoring.list_incidents("churn") == [] and got == []
    a = datetime.now(UTC)
    write_features(monitored, shift=0.0, seed=0)
    serve(monitored)
    b = datetime.now(UTC)
    write_features(monitored, shift=1.5, seed=2)
    serve(monitored)
    c = datetime.now(UTC)

    first = monitored.monitoring.run_drift("churn", **_window(b, c))
    again = monitored.monitoring.run_drift("churn", **_window(b, c))
    assert first.status == again.status == "drift"
    (incident,) = monitored.monitoring.list_incidents("churn")
    assert (incident.source, incident.state, incident.details["reports"]) == ("drift", "open", 2)

    healed = monitored.monitoring.run_drift("churn", **_window(a, b))  # the unshifted rows
    assert healed.status == "ok", healed
    (incident,) = monitored.monitoring.list_incidents("churn")
    assert incident.state == "resolved" and incident.resolved_at is not None

    published = [r.value for r in monitored.events.read_records("monitoring.alerts")]
    assert [(x["state"], x["report_id"]) for x in published] == [
        ("firing", first.id),
        ("resolved", healed.id),
    ]
    assert all(x["id"] == incident.id for x in published)
    assert set(published[0]["features"]) >= set(FEATURES)
    assert got == published  # delivered to the live webhook, in order
    failed = REGISTRY.get_sample_value("shipyard_alert_deliveries_total", {"outcome": "failed"})
    assert failed is not None and failed >= 2  # the dead one was tried twice

    # a run may carry its own thresholds (a monitor's) and a subset of the features
    only = monitored.monitoring.run_drift(
        "churn", **_window(b, c), thresholds={"min_rows": 10}, features=[FEATURES[0]]
    )
    assert [f.feature for f in only.features] == [FEATURES[0]] and only.status == "drift"
    assert only.thresholds.min_rows == 10 and only.thresholds.psi == 0.2
    strict = monitored.monitoring.run_drift(
        "churn", **_window(b, c), thresholds={"min_rows": 10**4}
    )
    assert strict.status == "insufficient_data"
    for bad, says in [({"psi": -1}, "threshold psi"), ({"nope": 1}, "unknown threshold")]:
        with pytest.raises(InvalidArgument, match=says):
            monitored.monitoring.run_drift("churn", thresholds=bad)

    # the same from the CLI: `shipyard drift DEPLOYMENT`
    cli = ["-C", str(project_dir), "drift", "churn", "--window", "600"]
    assert run_cli([*cli, "-t", "psi=much"]) == 1
    assert "write NAME=NUMBER" in capsys.readouterr().err
    assert run_cli([*cli, "-t", "min_rows=10", "-f", FEATURES[1], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [f["feature"] for f in shown["features"]] == [FEATURES[1]]
