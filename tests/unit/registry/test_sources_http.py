"""The attacks of findings 1 and 7 over HTTP: both registration routes, the files routes."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.api.app import create_app
from shipyard.platform import Platform
from shipyard.registry.tables import model_versions
from tests.unit.registry.conftest import Teams

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

V1 = "/api/v1/registry/models"
MV = "/api/2.0/mlflow/model-versions/create"


@pytest.fixture
def eve(platform: Platform, teams: Teams) -> Iterator[TestClient]:
    token = platform.security.create_token(principal="eve").token
    with TestClient(create_app(platform), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_an_editor_cannot_copy_server_folders_over_either_route(
    eve: TestClient, project_dir: Path
) -> None:
    home = str(project_dir / ".shipyard")
    for source in (home, "/etc", f"file://{home}"):
        r = eve.post(f"{V1}/mine/versions", json={"source": source})
        assert r.status_code == 403, r.text
        assert str(project_dir) not in r.json()["message"].replace(source, "")
        r = eve.post(MV, json={"name": "mine", "source": source})
        assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED", r.text
    r = eve.get(f"{V1}/mine/versions/1/files/content", params={"path": "catalog.db"})
    assert r.status_code == 404 and b"SQLite" not in r.content


def test_an_editor_cannot_register_another_teams_model_or_artifacts(
    eve: TestClient, teams: Teams
) -> None:
    fin = f"mlflow-artifacts:/{teams.fin_exp}/{teams.fin_run}/artifacts/model"
    for body in (
        {"source": fin},
        {"source": f"models:/{teams.fin_model}"},
        {"source": "models:/finmodel/1"},
    ):
        assert eve.post(f"{V1}/mine/versions", json=body).status_code == 403
        assert eve.post(MV, json={"name": "mine", **body}).status_code == 403
    r = eve.post(MV, json={"name": "mine", "source": "x", "model_id": teams.fin_model})
    assert r.status_code == 403, r.text
    assert eve.get(f"{V1}/mine/versions/1/files").status_code == 404


@pytest.mark.timeout(5)
def test_listing_files_of_a_version_always_returns(
    eve: TestClient, platform: Platform, teams: Teams
) -> None:
    r = eve.post(MV, json={"name": "mine", "source": "mlflow-artifacts:/"})
    assert r.status_code == 422, r.text
    source = f"mlflow-artifacts:/{teams.ml_exp}/{teams.ml_run}/artifacts/model"
    r = eve.post(MV, json={"name": "mine", "source": source})
    assert r.status_code == 200, r.text
    assert "MLmodel" in eve.get(f"{V1}/mine/versions/1/files").json()["items"]
    with platform.context.db.begin() as conn:  # a version left by an older release
        conn.execute(model_versions.update().values(storage_location=""))
    r = eve.get(f"{V1}/mine/versions/1/files")
    assert r.status_code in (404, 422), r.text


def test_file_content_cannot_leave_the_version_folder(eve: TestClient, teams: Teams) -> None:
    r = eve.post(f"{V1}/mine/versions", json={"source": f"runs:/{teams.ml_run}/model"})
    assert r.status_code == 201, r.text
    url = f"{V1}/mine/versions/1/files/content"
    assert eve.get(url, params={"path": "MLmodel"}).status_code == 200
    for raw in (
        "path=../../catalog.db",
        "path=/etc/passwd",
        "path=%2e%2e/%2e%2e/%2e%2e/%2e%2e/catalog.db",
        "path=%252e%252e/%252e%252e/catalog.db",
        "path=..%2f..%2f..%2f..%2fcatalog.db",
        "path=%2fetc%2fpasswd",
    ):
        r = eve.get(f"{url}?{raw}")
        assert r.status_code in (404, 422), (raw, r.status_code, r.text)
        assert b"SQLite" not in r.content and b"root:" not in r.content


def test_no_version_row_was_written_by_the_refused_attempts(
    eve: TestClient, platform: Platform, teams: Teams
) -> None:
    eve.post(f"{V1}/mine/versions", json={"source": "/etc"})
    eve.post(MV, json={"name": "mine", "source": f"models:/{teams.fin_model}"})
    with platform.context.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(model_versions)).scalar() == 1
