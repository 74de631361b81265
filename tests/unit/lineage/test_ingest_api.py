"""``POST /api/v1/lineage``: outside tools' OpenLineage events join the lineage graph."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

import shipyard
from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform import Platform
from tests.servers import live_server
from tests.unit.api.conftest import admin_token, app, bearer, client, token_for

__all__ = ["admin_token", "app", "client", "token_for"]  # fixtures used below

URL = "/api/v1/lineage"


def event(
    *,
    inputs: list[tuple[str, str]] = (("postgres://crm:5432", "public.orders"),),  # type: ignore[assignment]
    outputs: list[tuple[str, str]] = (("s3://exports", "orders_daily"),),  # type: ignore[assignment]
    event_type: str = "COMPLETE",
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": "2026-12-05T10:00:00.000Z",
        "producer": "https://github.com/acme/etl",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "airflow", "name": "daily_orders", "facets": {}},
        "inputs": [{"namespace": ns, "name": n} for ns, n in inputs],
        "outputs": [
            {
                "namespace": ns,
                "name": n,
                "facets": {
                    "schema": {
                        "_producer": "x",
                        "_schemaURL": "y",
                        "fields": [{"name": "day", "type": "DATE"}],
                    },
                    "version": {"_producer": "x", "_schemaURL": "y", "datasetVersion": "17"},
                },
            }
            for ns, n in outputs
        ],
    }


@pytest.fixture
def orders(platform: Platform) -> str:
    platform.lake.write("bronze.orders", pd.DataFrame({"id": [1, 2]}))
    return f"shipyard://{platform.settings.project}"


def test_external_datasets_and_own_tables_are_linked(
    platform: Platform, client: TestClient, admin_token: str, orders: str
) -> None:
    h = bearer(admin_token)
    body = event(outputs=[("s3://exports", "orders_daily"), (orders, "table:bronze.orders")])
    r = client.post(URL, json=body, headers=h)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["edges"] == 2
    assert got["inputs"] == ["dataset:postgres://crm:5432/public.orders@1"]
    assert got["outputs"] == ["dataset:s3://exports/orders_daily@1", "table:bronze.orders@0"]
    graph = platform.catalog.lineage("table:bronze.orders", depth=2)
    assert {n.name for n in graph.nodes} == {"bronze.orders", "postgres://crm:5432/public.orders"}
    assert graph.edges[0].operation == "openlineage:airflow/daily_orders"
    external = platform.catalog.get_asset("dataset:s3://exports/orders_daily")
    assert external.properties["columns"] == [{"name": "day", "type": "DATE"}]
    assert external.properties["dataset_version"] == "17"
    assert platform.lake.get_table("bronze.orders").version == 0  # never re-versioned from outside
    # A second completed run is a new version of the external output.
    client.post(URL, json=event(), headers=h)
    assert platform.catalog.get_asset("dataset:s3://exports/orders_daily").version == 2
    assert platform.audit.list_records(action="lineage.ingest").items


def test_start_events_are_accepted_but_add_no_edges(
    platform: Platform, client: TestClient, admin_token: str
) -> None:
    r = client.post(URL, json=event(event_type="START"), headers=bearer(admin_token))
    assert r.status_code == 201 and r.json()["edges"] == 0


def test_who_may_send(
    platform: Platform, client: TestClient, token_for: Callable[..., str], orders: str
) -> None:
    assert client.post(URL, json=event()).status_code == 401
    platform.security.create_principal("nobody")
    roleless = platform.security.create_token(principal="nobody").token
    viewer = token_for("vera", role="viewer")
    for token in (roleless, viewer):
        assert client.post(URL, json=event(), headers=bearer(token)).status_code == 403
    # Another team's editor cannot see, let alone link into, the default team's table ...
    rita = token_for("rita", role="editor", team="risk")
    into_ours = event(outputs=[(orders, "table:bronze.orders")])
    assert client.post(URL, json=into_ours, headers=bearer(rita)).status_code == 403
    as_risk = client.post(URL + "?owner=risk", json=into_ours, headers=bearer(rita))
    assert as_risk.status_code == 404  # the table is not rita's to see
    # ... nor create datasets for the default team; for its own team it may.
    assert client.post(URL, json=event(), headers=bearer(rita)).status_code == 403
    ok = client.post(URL + "?owner=risk", json=event(), headers=bearer(rita))
    assert ok.status_code == 201, ok.text
    assert platform.catalog.get_asset("dataset:s3://exports/orders_daily").owner == "risk"
    # ... and then the default team's editor cannot write into risk's dataset.
    eddie = token_for("eddie", role="editor")
    assert client.post(URL, json=event(), headers=bearer(eddie)).status_code in (403, 404)
    assert platform.audit.list_records(principal="rita", outcome="denied").items
    assert platform.lake.get_table("bronze.orders").version == 0


def _mutate(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(event())
    node: Any = body
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return body


MALFORMED: list[Any] = [
    [1, 2],
    "a string",
    None,
    {},
    _mutate("run", KeyError),
    _mutate("run.runId", "not-a-uuid"),
    _mutate("run.runId", 7),
    _mutate("eventType", "DONE"),
    _mutate("eventTime", "yesterday"),
    _mutate("job.name", ""),
    _mutate("job.name", "x" * 5000),
    _mutate("job", ["a"]),
    _mutate("inputs", "orders"),
    _mutate("inputs", [{"namespace": "n"}] * 3),
    _mutate("inputs", [{"namespace": "n", "name": "m"}] * 1001),
    _mutate("outputs.0.facets", "nope"),
    _mutate("outputs.0.namespace", {"$gt": ""}),
    _mutate("producer", ""),
    _mutate("inputs.0", {"namespace": "n" * 300, "name": "y" * 300}),  # past 512 together
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_events_are_422_never_500(
    platform: Platform, client: TestClient, admin_token: str, body: Any
) -> None:
    r = client.post(URL, json=body, headers=bearer(admin_token))
    assert r.status_code == 422, r.text
    assert "error_code" in r.json()


def test_not_json_is_a_4xx(platform: Platform, client: TestClient, admin_token: str) -> None:
    headers = {**bearer(admin_token), "Content-Type": "application/json"}
    assert client.post(URL, content=b"{not json", headers=headers).status_code == 422
    assert client.post(URL + "?owner=", json=event(), headers=headers).status_code == 422


def test_in_process_errors(platform: Platform) -> None:
    with pytest.raises(InvalidArgument, match="runId"):
        platform.lineage.ingest_event(_mutate("run.runId", "x"))
    body = event(inputs=[(f"shipyard://{platform.settings.project}", "table:silver.none")])
    with pytest.raises(NotFound):
        platform.lineage.ingest_event(body)


@pytest.fixture
def server(platform: Platform) -> Iterator[str]:
    with live_server(platform) as url:
        yield url


def test_remote_client_and_a_shipyard_sending_to_another(
    platform: Platform, server: str, tmp_path: Path
) -> None:
    token = platform.security.create_token().token
    with shipyard.connect(server, token) as remote:
        assert remote.lineage.ingest_event(event()).edges == 1
    # A second Shipyard sends its own run events to this one over HTTP.
    other = tmp_path / "other"
    other.mkdir()
    lineage = {"transport": "http", "url": server, "api_key": token}
    with Platform.open(other, lineage=lineage) as q:
        q.lake.write("bronze.src", pd.DataFrame({"a": [1]}))
        q.lake.write("bronze.src", pd.DataFrame({"a": [2]}))
        emitter = q.backends.lineage
        assert emitter is not None
        emitter.flush()
        assert (emitter.sent, emitter.failures) == (4, 0)
    seen = platform.catalog.get_asset("dataset:shipyard://other/table:bronze.src")
    assert seen.version == 2 and seen.properties["dataset_version"] == "1"
