"""The lake over ``shipyard.connect``: every argument of ``write`` reaches the service.

The hand-written client took ``**_`` and dropped ``owner``, ``tags``, ``sources``,
``description`` and ``operation``; ``apply_changes`` dropped ``owner``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pyarrow as pa
import pytest

import shipyard
from shipyard.client import RemotePlatform
from shipyard.errors import NotFound, PermissionDenied
from shipyard.platform import Platform
from tests.servers import live_server


@pytest.fixture
def server_url(platform: Platform) -> Iterator[str]:
    with live_server(platform) as url:
        yield url


@pytest.fixture
def admin(platform: Platform, server_url: str) -> Iterator[RemotePlatform]:
    with shipyard.connect(server_url, platform.security.create_token().token) as remote:
        yield remote


def _token(platform: Platform, name: str, team: str, role: str) -> str:
    platform.security.create_principal(name, team=team, role=role)
    return platform.security.create_token(principal=name).token


ROWS = pa.table({"id": [1, 2], "amount": [3.5, 4.0]})


def test_write_round_trips_owner_tags_sources(platform: Platform, admin: RemotePlatform) -> None:
    admin.catalog.register_asset("table:bronze.raw", owner="ml")
    info = admin.lake.write(
        "silver.orders",
        ROWS,
        owner="ml",
        description="clean orders",
        tags=["orders", "pii"],
        sources=["table:bronze.raw@1"],
        operation="backfill",
    )
    assert info.owner == "ml"
    asset = platform.catalog.get_asset("table:silver.orders")
    assert (asset.owner, asset.description, asset.tags) == ("ml", "clean orders", ["orders", "pii"])
    upstream = platform.catalog.lineage("table:silver.orders", direction="upstream")
    assert [(str(e.source), e.operation) for e in upstream.edges] == [
        ("table:bronze.raw@1", "backfill")
    ]
    assert admin.lake.read("silver.orders").to_pylist() == ROWS.to_pylist()


def test_json_rows_take_the_same_fields(platform: Platform, admin: RemotePlatform) -> None:
    body = {"records": [{"id": 1}], "owner": "ml", "tags": ["t"], "description": "d"}
    response = admin.http.request("POST", "/api/v1/lake/tables/silver.json/rows", json=body)
    assert response["owner"] == "ml"
    assert platform.catalog.get_asset("table:silver.json").tags == ["t"]


def test_apply_changes_keeps_the_owner(platform: Platform, admin: RemotePlatform) -> None:
    changes = [{"id": 1, "v": "a", "seq": 1, "op": "UPSERT"}]
    admin.lake.apply_changes("silver.cdc", changes, keys=["id"], sequence_by="seq", owner="ml")
    assert platform.lake.get_table("silver.cdc").owner == "ml"


def test_another_teams_editor_cannot_write_as_that_team(
    platform: Platform, server_url: str
) -> None:
    token = _token(platform, "eve", "risk", "editor")
    with shipyard.connect(server_url, token) as eve, pytest.raises(PermissionDenied):
        eve.lake.write("silver.mine", ROWS, owner="ml", tags=["x"])
    with pytest.raises(NotFound):
        platform.lake.get_table("silver.mine")


def test_role_less_and_malformed_requests_are_4xx(platform: Platform, server_url: str) -> None:
    platform.security.create_principal("nobody")
    token = platform.security.create_token(principal="nobody").token
    with shipyard.connect(server_url, token) as nobody, pytest.raises(PermissionDenied):
        nobody.lake.write("silver.x", ROWS, owner="default", sources=["table:bronze.raw@1"])
    admin = platform.security.create_token().token
    headers = {"Authorization": f"Bearer {admin}"}
    with shipyard.connect(server_url, admin) as root, pytest.raises(NotFound):
        root.lake.write("silver.y", ROWS, sources=["not a ref"])
    r = httpx.post(
        f"{server_url}/api/v1/lake/tables/silver.y/rows",
        params={"mode": "sideways", "tags": ["ok"]},
        content=b"not arrow",
        headers={**headers, "content-type": "application/vnd.apache.arrow.stream"},
    )
    assert 400 <= r.status_code < 500, r.text
    r = httpx.post(
        f"{server_url}/api/v1/lake/tables/silver.z/rows",
        json={"records": [{"id": 1}], "owner": 7, "surprise": True},
        headers=headers,
    )
    assert 400 <= r.status_code < 500
