"""``chunk_rows`` of a batch scoring run is bounded: out of range is a 422, never a 500 or a job."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from shipyard.serving.ops import MAX_CHUNK_ROWS
from tests.unit.api.conftest import bearer

PATH = "/api/v1/deployments/-/score-table"
BODY = {"model": "m/1", "source": "silver.x", "output": "silver.y"}


@pytest.mark.parametrize(
    ("chunk_rows", "wait"),
    [(0, True), (MAX_CHUNK_ROWS + 1, True), (2**70, True), ("many", True), (-1, False)],
)
def test_a_malformed_chunk_rows_is_422_and_queues_nothing(
    client: TestClient, admin_token: str, platform: Platform, chunk_rows: Any, wait: bool
) -> None:
    r = client.post(
        PATH,
        json={**BODY, "chunk_rows": chunk_rows},
        params={"wait": str(wait).lower()},
        headers=bearer(admin_token),
    )
    assert r.status_code == 422, r.text
    assert "chunk_rows" in r.text
    assert platform.jobs.list().items == []


@pytest.mark.parametrize("chunk_rows", [0, MAX_CHUNK_ROWS + 1])
def test_the_service_refuses_it_in_process_too(platform: Platform, chunk_rows: int) -> None:
    with pytest.raises(InvalidArgument, match="chunk_rows"):
        platform.serving.score_table("m/1", "silver.x", "silver.y", chunk_rows=chunk_rows)
