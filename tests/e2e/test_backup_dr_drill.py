"""The DR drill: back up the demo project, restore it onto fresh backends, serve the same answers."""

from __future__ import annotations

import io
import time
import uuid
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from shipyard.api.app import create_app
from shipyard.backup.archive import Archive
from shipyard.backup.models import RestorePoint
from shipyard.backup.restore import restore as restore_point
from shipyard.demo.golden_path import DemoResult, run_demo
from shipyard.platform import Platform

#: Restores with this platform (the backup package does not import it).
restore = partial(restore_point, open_platform=Platform.open)

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.slow

ROWS = [{"customer_id": c} for c in range(1, 41)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    project = tmp_path_factory.mktemp("drill") / "demo"
    return run_demo(project, customers=600, requests=5, console=Console(file=io.StringIO()))


@pytest.fixture(scope="module")
def point(demo: DemoResult) -> RestorePoint:
    with Platform.open(demo.project) as p:
        started = time.perf_counter()
        point = p.backup.create_backup()
        assert time.perf_counter() - started < 10  # the target for the demo project
        assert p.backup.verify_backup(point.id).ok
    return point


def _served(project: Path) -> list[Any]:
    """Predictions over HTTP from ``project``'s API, as a predictor."""
    with Platform.open(project) as p:
        who = f"drill-{uuid.uuid4().hex[:6]}"
        p.security.create_principal(who, role="predictor")
        token = p.security.create_token(principal=who, name="drill").token
        with TestClient(create_app(p)) as http:
            r = http.post(
                "/api/v1/deployments/churn/predict",
                json={"inputs": ROWS},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert r.status_code == 200, r.text
    body = r.json()
    assert {s for row in body["feature_status"] for s in row.values()} == {"PRESENT"}
    return list(body["predictions"])


def _original(demo: DemoResult) -> list[Any]:
    with Platform.open(demo.project) as p:
        return list(p.serving.predict("churn", ROWS).predictions)


def _restore(demo: DemoResult, point: RestorePoint, target: Path, **kw: Any) -> None:
    with Platform.open(demo.project) as p:
        archive = Archive(p.backends.backups.get())
    restore(
        archive,
        point.id,
        target / "project",
        lake_root=str(target / "lake"),
        artifact_root=str(target / "artifacts"),
        **kw,
    )


def test_restored_demo_serves_the_same_predictions(
    demo: DemoResult, point: RestorePoint, tmp_path: Path
) -> None:
    _restore(demo, point, tmp_path)
    assert _served(tmp_path / "project") == _original(demo)


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    import redis

    prefix = f"shipyard-drill-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_restore_onto_redis_rebuilds_the_online_store_from_the_lake(
    demo: DemoResult, point: RestorePoint, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    online = {"backend": "redis", "url": redis_url, "key_prefix": redis_prefix}
    _restore(demo, point, tmp_path, settings={"online": online})
    assert _served(tmp_path / "project") == _original(demo)
