"""`shipyard.connect(url, token)` against a live server: same methods, same typed errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

import shipyard
from shipyard.client.http import HttpTransport
from shipyard.errors import (
    AlreadyExists,
    BackendUnavailable,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ShipyardError,
    Unauthenticated,
)
from shipyard.platform import Platform
from tests.servers import live_server


@pytest.fixture
def server_url(platform: Platform) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port (in a thread)."""
    with live_server(platform) as url:
        yield url


@pytest.fixture
def admin(platform: Platform, server_url: str) -> Iterator[shipyard.client.RemotePlatform]:
    with shipyard.connect(server_url, platform.security.create_token().token) as remote:
        yield remote


def test_catalog_round_trip(platform: Platform, admin: shipyard.client.RemotePlatform) -> None:
    a = admin.catalog.register_asset(
        "table:bronze.orders", description="raw", tags=["raw"], properties={"rows": 3}
    )
    assert (a.kind, a.name, a.version, a.created_by) == ("table", "bronze.orders", 1, "local-admin")
    admin.catalog.register_asset(
        "table:silver.orders", sources=["table:bronze.orders@1"], operation="refresh"
    )
    admin.catalog.register_asset("table:bronze.orders")  # version 2
    assert admin.catalog.get_asset("table:bronze.orders") == platform.catalog.get_asset(
        "table:bronze.orders"
    )
    assert [v.version for v in admin.catalog.list_versions("table:bronze.orders").items] == [1, 2]
    first = admin.catalog.list_versions("table:bronze.orders", limit=1)
    assert [v.version for v in first.items] == [1] and first.next_page_token
    rest = admin.catalog.list_versions("table:bronze.orders", page_token=first.next_page_token)
    assert ([v.version for v in rest.items], rest.next_page_token) == ([2], None)
    page = admin.catalog.search("orders", kind="table", limit=1)
    assert [x.name for x in page.items] == ["bronze.orders"] and page.next_page_token
    nxt = admin.catalog.search("orders", kind="table", limit=1, page_token=page.next_page_token)
    assert [x.name for x in nxt.items] == ["silver.orders"]
    graph = admin.catalog.lineage("table:silver.orders")
    assert graph == platform.catalog.lineage("table:silver.orders")
    assert str(graph.edges[0].source) == "table:bronze.orders@1"
    updated = admin.catalog.update_asset("table:bronze.orders", description="changed", tags=["x"])
    assert (updated.description, updated.tags) == ("changed", ["x"])


def test_names_with_awkward_characters_survive_the_path(
    admin: shipyard.client.RemotePlatform,
) -> None:
    for name in ("s3/bucket/orders", "with space", "q?x#y%z"):
        admin.catalog.register_asset(f"table:{name}")
        assert admin.catalog.get_asset(f"table:{name}").name == name
        assert admin.catalog.list_versions(f"table:{name}").items[0].version == 1
        assert admin.catalog.lineage(f"table:{name}").root.name == name


def test_security_and_audit_round_trip(
    platform: Platform, admin: shipyard.client.RemotePlatform, server_url: str
) -> None:
    assert admin.security.whoami().name == "local-admin"
    p = admin.security.create_principal("ana", team="ml", role="editor")
    assert p.roles == {"ml": "editor"}
    assert admin.security.grant("ana", team="risk", role="viewer").roles == {
        "ml": "editor",
        "risk": "viewer",
    }
    assert admin.security.get_principal("ana").roles["risk"] == "viewer"
    assert admin.security.revoke_role("ana", team="risk").roles == {"ml": "editor"}
    assert "ana" in [x.name for x in admin.security.list_principals().items]
    new = admin.security.create_token(principal="ana", name="nb", expires_in=timedelta(days=1))
    assert new.token.startswith("shp_") and new.info.expires_at is not None
    assert [t.name for t in admin.security.list_tokens(principal="ana").items] == ["nb"]

    with shipyard.connect(server_url, new.token) as ana:
        assert ana.security.whoami().name == "ana"
        ana.catalog.register_asset("model:churn", owner="ml")
        records = ana.audit.list_records(action="catalog.*").items
        assert [(r.principal, r.asset) for r in records] == [("ana", "model:churn@1")]
        admin.security.revoke_token(new.info.id)
        with pytest.raises(Unauthenticated, match="revoked"):
            ana.security.whoami()

    all_records = admin.audit.list_records(principal="ana", outcome="denied")
    assert [r.action for r in all_records.items] == ["security.authenticate"]
    since = admin.audit.list_records(since=platform.audit.list_records().items[0].ts)
    assert len(since.items) >= 1
    report = admin.audit.verify()
    assert report.ok and report.rows_checked == platform.audit.verify().rows_checked > 5


def test_errors_come_back_as_the_same_types(
    platform: Platform, admin: shipyard.client.RemotePlatform, server_url: str
) -> None:
    with pytest.raises(NotFound) as nf:
        admin.catalog.get_asset("table:no.such")
    assert nf.value.details["name"] == "no.such" and nf.value.details["http_status"] == 404
    with pytest.raises(InvalidArgument):
        admin.catalog.get_asset("not-a-ref")
    with pytest.raises(InvalidArgument):
        admin.catalog.lineage("table:x", direction="sideways")
    admin.security.create_principal("bob")
    with pytest.raises(AlreadyExists):
        admin.security.create_principal("bob")
    with pytest.raises(InvalidArgument):  # the server's 422 for a bad role
        admin.security.grant("bob", team="ml", role="overlord")

    viewer = platform.security.create_token(principal="bob").token
    with shipyard.connect(server_url, viewer) as bob:
        with pytest.raises(PermissionDenied) as denied:
            bob.catalog.register_asset("table:bronze.evil")
        assert denied.value.details["permission"] == "write"
    with shipyard.connect(server_url, "shp_wrong") as nobody, pytest.raises(Unauthenticated):
        nobody.catalog.search()


def test_unreachable_server_is_backend_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        shipyard.connect(f"http://127.0.0.1:{port}", "t", timeout=2) as remote,
        pytest.raises(BackendUnavailable, match=f"127.0.0.1:{port}"),
    ):
        remote.security.whoami()


def _transport(handler: httpx.MockTransport) -> HttpTransport:
    t = HttpTransport("http://shipyard.test", "t")
    t._client = httpx.Client(base_url=t.base_url, transport=handler)
    return t


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"error_code": "NOT_FOUND", "message": "m", "details": {"message": "x"}}, NotFound),
        (418, {"error_code": "builtins.SystemExit", "message": "m"}, ShipyardError),
        (403, {"detail": "Forbidden"}, PermissionDenied),
        (502, "<html>bad gateway</html>", BackendUnavailable),
        (500, None, ShipyardError),
    ],
)
def test_wire_codes_go_through_an_allow_list(
    status: int, body: object, expected: type[ShipyardError]
) -> None:
    def handle(_req: httpx.Request) -> httpx.Response:
        if isinstance(body, dict):
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=body or "")

    transport = _transport(httpx.MockTransport(handle))
    with pytest.raises(ShipyardError) as info:
        transport.get("/api/v1/anything")
    assert type(info.value) is expected
    assert info.value.details["http_status"] == status
    transport.close()


def test_jobs_prune_over_http(
    platform: Platform, admin: shipyard.client.RemotePlatform, server_url: str
) -> None:
    from shipyard._internal.clock import utcnow
    from shipyard.pipelines.retention import PruneResult
    from shipyard.pipelines.tables import jobs

    job = platform.jobs.submit("shipyard.pipelines.builtin:echo", executor="inprocess")
    with platform.context.db.begin() as conn:
        old = utcnow() - timedelta(days=40)
        conn.execute(jobs.update().where(jobs.c.id == job.id).values(state="dead", finished_at=old))
    dry = admin.jobs.prune(dry_run=True)
    assert isinstance(dry, PruneResult) and (dry.dry_run, dry.jobs) == (True, 1)
    assert admin.jobs.prune(older_than_days=35).jobs == 1
    platform.security.create_principal("ed", team="default", role="editor")
    token = platform.security.create_token(principal="ed").token
    with shipyard.connect(server_url, token) as ed, pytest.raises(PermissionDenied):
        ed.jobs.prune()
