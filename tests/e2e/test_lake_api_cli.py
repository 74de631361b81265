"""The lake as a user drives it: the CLI, the HTTP API (JSON and Arrow) and the remote SDK."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

with warnings.catch_warnings():
    # Starlette 1.x asks for `httpx2` for its test client; httpx is what we ship.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from fastapi import Depends, FastAPI

from shipyard.api.deps import caller
from shipyard.api.errors import install_error_handlers
from shipyard.api.routes import lake as lake_routes
from shipyard.cli import _common
from shipyard.cli.main import run
from shipyard.platform import Platform
from shipyard.security.models import Role

ARROW = "application/vnd.apache.arrow.stream"
ORDERS = "order_id,customer_id,amount\n1,7,10.0\n2,8,-1.0\n3,9\n4,,5.0\n"


def _ipc(tbl: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, tbl.schema) as w:
        w.write_table(tbl)
    return bytes(sink.getvalue().to_pybytes())


@pytest.fixture
def cli(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> Iterator:  # type: ignore[type-arg]
    width = _common.console.width
    _common.console.width = 200
    (project_dir / "shipyard.yaml").write_text("")  # a project: commands refuse other folders

    def call(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        got = run(["-C", str(project_dir), *args])
        out, err = capsys.readouterr()
        assert got == code, (args, out, err)
        return out + err

    yield call
    _common.console.width = width


def test_cli_golden_path(cli, project_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS)
    out = cli("lake", "ingest", "bronze.orders", str(f))
    assert "3 rows written, 1 quarantined" in out
    assert "already ingested" in cli("lake", "ingest", "bronze.orders", str(f))
    sql_file = tmp_path / "silver.sql"
    sql_file.write_text("SELECT order_id, customer_id, amount FROM bronze.orders")
    cli(
        "lake",
        "define",
        "silver.orders",
        str(sql_file),
        "--incremental",
        "--primary-key",
        "order_id",
    )
    assert "(full): 3 rows written" in cli("lake", "refresh", "--all")
    assert "(noop)" in cli("lake", "refresh", "silver.orders")
    rows = json.loads(cli("sql", "SELECT order_id FROM silver.orders ORDER BY 1", "--json"))
    assert rows == [{"order_id": 1}, {"order_id": 2}, {"order_id": 4}]
    assert cli("sql", "SELECT count(*) AS n FROM bronze.orders", "--csv").splitlines() == ["n", "3"]
    tables = json.loads(cli("lake", "tables", "--json"))
    assert {t["name"] for t in tables} == {
        "bronze.orders",
        "bronze.orders__quarantine",
        "silver.orders",
    }
    assert "amount" in cli("lake", "show", "silver.orders")
    hist = json.loads(cli("lake", "history", "silver.orders", "--json"))
    assert [h["version"] for h in hist] == [1, 0]
    assert "now at version 2 with 0 rows" in cli(
        "lake", "restore", "silver.orders", "--version", "0"
    )
    assert "files compacted" in cli("lake", "optimize", "bronze.orders")
    assert "guard" in cli("lake", "vacuum", "bronze.orders", "--retention-hours", "1", code=1)
    err = cli("sql", "SELEC 1", code=1)
    assert err.startswith("error: SQL syntax error")
    assert "<layer>.<name>" in cli("lake", "ingest", "orders", str(f), code=1)


@pytest.fixture
def api(platform: Platform) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    platform.security.create_principal("vic", team="default", role=Role.VIEWER)
    admin = platform.security.create_token().token
    viewer = platform.security.create_token(principal="vic").token
    # Only the lake router, mounted as create_app mounts it (the other capability
    # routers are being built in parallel and are not this test's business).
    app = FastAPI()
    app.state.platform = platform
    install_error_handlers(app)
    app.include_router(lake_routes.router, prefix="/api/v1", dependencies=[Depends(caller)])
    with TestClient(app) as client:
        yield (client, {"authorization": f"Bearer {admin}"}, {"authorization": f"Bearer {viewer}"})


def test_http_rows_sql_and_permissions(api) -> None:  # type: ignore[no-untyped-def]
    client, admin, viewer = api
    r = client.post(
        "/api/v1/lake/tables/bronze.events/rows",
        headers=admin,
        json={"records": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["num_rows"] == 2
    again = client.post(
        "/api/v1/lake/tables/bronze.events/rows",
        headers=admin,
        json={"records": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]},
    )
    assert again.json()["version"] == 0  # same payload: idempotent
    bulk = pa.table({"id": list(range(3, 1003)), "v": ["x"] * 1000})
    r = client.post(
        "/api/v1/lake/tables/bronze.events/rows",
        headers={**admin, "content-type": ARROW},
        content=_ipc(bulk),
        params={"batch_id": "bulk-1"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["num_rows"]) == (1, 1002)
    q = client.post(
        "/api/v1/lake/sql",
        headers=viewer,
        json={"query": "SELECT count(*) AS n FROM bronze.events"},
    )
    assert q.status_code == 200 and q.json()["rows"] == [{"n": 1002}]
    arrow = client.post(
        "/api/v1/lake/sql",
        headers={**viewer, "accept": ARROW},
        json={"query": "SELECT id FROM bronze.events ORDER BY id LIMIT 3"},
    )
    assert pa.ipc.open_stream(arrow.content).read_all().column("id").to_pylist() == [1, 2, 3]
    denied = client.post(
        "/api/v1/lake/tables/bronze.events/rows", headers=viewer, json={"records": [{"id": 9}]}
    )
    assert denied.status_code == 403 and denied.json()["error_code"] == "PERMISSION_DENIED"
    bad = client.post("/api/v1/lake/sql", headers=viewer, json={"query": "SELECT FROM x y z"})
    assert bad.status_code == 422 and "syntax" in bad.json()["message"]
    assert client.get("/api/v1/lake/tables/bronze.nope", headers=viewer).status_code == 404
    listed = client.get("/api/v1/lake/tables", headers=viewer).json()
    assert [t["name"] for t in listed["items"]] == ["bronze.events"]
    hist = client.get("/api/v1/lake/tables/bronze.events/history", headers=viewer).json()
    assert [h["version"] for h in hist] == [1, 0]
    old = client.get(
        "/api/v1/lake/tables/bronze.events/rows", headers=viewer, params={"version": 0}
    ).json()
    assert old["num_rows"] == 2
    d = client.post(
        "/api/v1/lake/definitions",
        headers=admin,
        json={"definition": {"name": "gold.n", "sql": "SELECT count(*) AS n FROM bronze.events"}},
    )
    assert d.status_code == 201, d.text
    ref = client.post(
        "/api/v1/lake/tables/gold.n/refresh?wait=true", headers=admin, json={"full": True}
    )
    assert ref.json()["rows_written"] == 1
    cdc = client.post(
        "/api/v1/lake/tables/silver.c/changes",
        headers=admin,
        json={"records": [{"id": 1, "s": 1, "op": "INSERT"}], "keys": ["id"], "sequence_by": "s"},
    )
    assert cdc.json()["inserted"] == 1


def test_remote_client_speaks_the_same_interface(api, platform: Platform) -> None:  # type: ignore[no-untyped-def]
    from shipyard.client.http import HttpTransport
    from shipyard.client.lake import RemoteLakeService
    from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
    from shipyard.lake import Expectation, TableDefinition

    client, admin, viewer = api

    def remote(headers: dict[str, str]) -> RemoteLakeService:
        http = HttpTransport("http://testserver", "unused")
        http._client = client  # the in-process app instead of a socket
        http._client.headers.update(headers)
        return RemoteLakeService(http)

    lake = remote(admin)
    info = lake.write("bronze.events", pa.table({"id": [1, 2, 3], "v": [1.0, -2.0, 3.0]}))
    assert (info.version, info.num_rows) == (0, 3)
    lake.define(
        TableDefinition(
            name="silver.events",
            sql="SELECT id, v FROM bronze.events",
            expectations=[Expectation.range("v", min=0, action="quarantine")],
        )
    )
    r = lake.refresh("silver.events")
    assert (r.rows_written, r.rows_quarantined) == (2, 1)
    assert lake.sql("SELECT sum(v) AS s FROM silver.events")["s"][0].as_py() == 4.0
    assert lake.read("silver.events", version=0).num_rows == 0
    assert [h.version for h in lake.history("silver.events")] == [1, 0]
    assert lake.get_definition("silver.events").expectations[0].name == "v_range"
    assert {t.name for t in lake.list_tables().items} >= {"bronze.events", "silver.events"}
    assert lake.list_refreshes("silver.events").items[0]["expectations"][0].failed == 1
    assert lake.column_lineage("silver.events.v").roots == ["bronze.events.v"]
    info = lake.describe_column("silver.events", "v", description="value", tags=["pii"])
    assert next(c for c in info.columns if c.name == "v").tags == ["pii"]
    ch = lake.apply_changes(
        "silver.people", [{"id": 1, "seq": 1, "op": "INSERT"}], keys=["id"], sequence_by="seq"
    )
    assert ch.inserted == 1
    with pytest.raises(NotFound):
        lake.get_table("gold.none")
    with pytest.raises(InvalidArgument):
        lake.sql("SELECT * FROM")
    client.headers.pop("authorization", None)
    with pytest.raises(PermissionDenied):
        remote(viewer).write("bronze.events", [{"id": 9, "v": 1.0}])


def test_http_sql_and_filters_run_in_the_sandbox(api, platform: Platform) -> None:  # type: ignore[no-untyped-def]
    client, admin, viewer = api
    client.post(
        "/api/v1/lake/tables/bronze.events/rows", headers=admin, json={"records": [{"id": 1}]}
    )
    nobody = platform.security.create_principal("nobody")
    token = {
        "authorization": f"Bearer {platform.security.create_token(principal=nobody.name).token}"
    }
    files = f"{platform.lake.storage.root}/bronze/events/*.parquet"
    for headers in (token, viewer):
        r = client.post(
            "/api/v1/lake/sql",
            headers=headers,
            json={"query": f"SELECT * FROM read_parquet('{files}')"},
        )
        assert r.status_code == 422 and "not allowed" in r.json()["message"], r.text
    r = client.get(
        "/api/v1/lake/tables/bronze.events/rows",
        headers=viewer,
        params={"filter": "1=0; SET threads=1"},
    )
    assert r.status_code == 422, r.text
    r = client.post(
        "/api/v1/lake/sql",
        headers=viewer,
        json={"query": "EXPLAIN ANALYZE SET lock_configuration=true"},
    )
    assert r.status_code == 422, r.text
    ok = client.post(
        "/api/v1/lake/sql",
        headers=viewer,
        json={"query": "SELECT count(*) AS n FROM bronze.events"},
    )
    assert ok.status_code == 200 and ok.json()["rows"] == [{"n": 1}]
