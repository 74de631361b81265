"""Reads across teams: another team's caller learns nothing of team ``ml``'s assets.

Direct reads of ml's assets are refused (403/404), listings and searches leave them
out, lineage does not walk into them, and no refusal names an ml asset the caller
did not name itself.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import World
from tests.security.routes import ML_NAMES

READERS = ("risk_viewer", "risk_editor", "nobody")

#: GET requests straight at ml's assets.
DIRECT = (
    "/api/v1/catalog/assets/table:silver.ml_clean",
    "/api/v1/catalog/assets/table:silver.ml_clean/versions",
    "/api/v1/catalog/assets/model:ml_model/lineage",
    "/api/v1/catalog/assets/table:silver.ml_clean/lineage",
    "/api/v1/lake/tables/silver.ml_clean",
    "/api/v1/lake/tables/silver.ml_clean/rows",
    "/api/v1/lake/tables/silver.ml_clean/history",
    "/api/v1/lake/tables/gold.ml_daily/definition",
    "/api/v1/features/definitions/feature_view/ml_view",
    "/api/v1/features/views/ml_view/status",
    "/api/v1/tracking/experiments/{exp}",
    "/api/v1/tracking/experiments/by-name/ml_exp",
    "/api/v1/tracking/runs/{run}",
    "/api/v1/tracking/runs/{run}/artifacts",
    "/api/v1/tracking/runs/{run}/artifacts/content?path=notes.txt",
    "/api/v1/registry/models/ml_model",
    "/api/v1/registry/models/ml_model/versions",
    "/api/v1/registry/models/ml_model/versions/1/files",
    "/api/v1/registry/models/ml_model/versions/1/files/content?path=MLmodel",
    "/api/v1/registry/models/ml_model/alias-history",
    "/api/v1/deployments/ml_dep",
    "/api/v1/events/topics/ml_topic",
    "/api/v1/events/topics/ml_topic/records",
    "/api/v1/pipelines/ml_pipe",
    "/api/v1/pipelines/ml_pipe/runs",
    "/api/v1/vectors/ml_vectors",
    "/api/v1/monitoring/deployments/ml_dep/performance",
    "/api/v1/monitoring/deployments/ml_dep/slos",
    "/api/v1/monitoring/deployments/ml_dep/incidents",
    "/api/v1/monitoring/tables/silver.ml_clean/quality",
    "/api/2.0/mlflow/runs/get?run_id={run}",
    "/api/2.0/mlflow/experiments/get?experiment_id={exp}",
    "/api/2.0/mlflow/registered-models/get?name=ml_model",
    "/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/notes.txt",
)

#: Listings and searches: allowed (200) or refused, but never showing ml's assets.
LISTINGS = (
    "/api/v1/catalog/assets",
    "/api/v1/catalog/counts",
    "/api/v1/catalog/assets?text=ml",
    "/api/v1/catalog/assets/table:gold.risk_from_ml/lineage",
    "/api/v1/lake/tables",
    "/api/v1/registry/models",
    "/api/v1/registry/versions",
    "/api/v1/tracking/experiments",
    "/api/v1/events/topics",
    "/api/v1/pipelines",
    "/api/v1/vectors",
    "/api/v1/jobs",
    "/api/v1/features/definitions",
    "/api/v1/deployments",
    "/api/v1/monitoring/features/freshness",
    "/api/v1/scorecard",
    "/api/2.0/mlflow/registered-models/search",
)


def _fill(world: World, path: str) -> str:
    return path.replace("{run}", world.run_id).replace("{exp}", world.experiment_id)


def _denied(world: World, who: str) -> int:
    page = world.platform.audit.list_records(principal=who, outcome="denied", limit=1000)
    return len(page.items)


def _leaks(text: str, sent: str) -> list[str]:
    return [n for n in ML_NAMES if n in text and n not in sent]


@pytest.mark.parametrize("who", READERS)
@pytest.mark.parametrize("path", DIRECT)
def test_direct_reads_of_ml_assets_are_refused(world: World, path: str, who: str) -> None:
    url = _fill(world, path)
    before = _denied(world, who)
    with world.client(who) as http:
        r = http.get(url)
    assert r.status_code in (403, 404), f"{url} as {who}: {r.status_code} {r.text[:300]}"
    if r.status_code == 403:
        assert _denied(world, who) > before, f"{url} as {who}: refused but not audited"
    assert not _leaks(r.text, url), f"{url} as {who} names {_leaks(r.text, url)}: {r.text}"


@pytest.mark.parametrize("who", READERS)
@pytest.mark.parametrize("path", LISTINGS)
def test_listings_leave_ml_assets_out(world: World, path: str, who: str) -> None:
    with world.client(who) as http:
        r = http.get(path)
    assert r.status_code in (200, 403, 404), f"{path} as {who}: {r.status_code} {r.text[:300]}"
    assert not _leaks(r.text, ""), f"{path} as {who} shows {_leaks(r.text, '')}"


@pytest.mark.parametrize("who", READERS)
def test_online_and_historical_features_of_ml_are_refused(world: World, who: str) -> None:
    with world.client(who) as http:
        online = http.post(
            "/api/v1/features/online",
            json={"features": ["ml_view:x"], "entity_rows": [{"customer_id": 1}]},
        )
        historical = http.post(
            "/api/v1/features/historical",
            json={
                "features": ["ml_view:x"],
                "entity_rows": [{"customer_id": 1, "event_timestamp": "2026-01-05T00:00:00"}],
            },
        )
    assert online.status_code == 403, online.text
    assert historical.status_code == 403, historical.text


def test_an_owner_still_reads_its_own_assets(world: World) -> None:
    """The suite's refusals are about teams: ml's viewer reads what risk's cannot."""
    with world.client("ml_viewer") as http:
        for path in (
            "/api/v1/catalog/assets/table:silver.ml_clean",
            "/api/v1/lake/tables/silver.ml_clean/rows",
            f"/api/v1/tracking/runs/{world.run_id}",
            "/api/v1/registry/models/ml_model",
            "/api/v1/events/topics/ml_topic",
        ):
            assert http.get(path).status_code == 200, path
