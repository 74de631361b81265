"""The ML pages (experiments, registry, deployments, pipelines) render the services' data,
and the promotion buttons are governed by the registry service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.platform import Platform
from shipyard.tracking.models import Metric
from shipyard.ui.downsample import aligned


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, list[str]]]:
    project = tmp_path_factory.mktemp("ui-ml")
    (project / "shipyard.yaml").write_text("")
    p = Platform.open(Path(project))
    ids = []
    p.tracking.create_experiment("churn-train", owner="ml")
    for i in range(3):
        run = p.tracking.create_run("churn-train", run_name=f"gbm-{i}")
        metrics = [
            Metric(key="loss", value=1 / (s + 1 + i), step=s, timestamp=s) for s in range(50)
        ]
        p.tracking.log_batch(run.id, metrics=metrics, params={"lr": str(i), "depth": "3"})
        p.tracking.put_artifact(run.id, "model/model.txt", b"weights")
        ids.append(run.id)
    for run_id in ids[:2]:
        p.registry.register_model("churn", source=f"runs:/{run_id}/model", owner="ml")
    for name in ("mia", "ann"):
        p.security.create_principal(name, team="ml", role="admin")
    yield p, ids
    p.close()


def sign_in(p: Platform, who: str) -> TestClient:
    client = TestClient(create_app(p), base_url="http://testserver")
    client.get("/ui/login")
    token = p.security.create_token(principal=who).token
    client.post("/ui/login", data={"token": token, "csrf": client.cookies["shipyard_login_csrf"]})
    return client


@pytest.fixture(scope="module")
def mia(seeded: tuple[Platform, list[str]]) -> Iterator[TestClient]:
    with sign_in(seeded[0], "mia") as client:
        yield client


def text(ui: TestClient, path: str, **headers: str) -> str:
    r = ui.get(path, headers=headers)
    assert r.status_code == 200, (path, r.status_code, r.text[:400])
    return r.text


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_run_table_search_sort_and_columns(mia: TestClient, seeded: tuple) -> None:
    listing = text(mia, "/ui/experiments")
    experiment = re.search(r'href="/ui/experiments/([^"?]+)"', listing)
    assert experiment and "churn-train" in listing
    base = f"/ui/experiments/{experiment.group(1)}"
    page = text(mia, base + "?order=metrics.loss%20ASC")
    assert page.index("gbm-2") < page.index("gbm-0")  # smallest loss first
    only = text(mia, base + "?filter=params.lr%20%3D%20%271%27", **{"hx-request": "true"})
    assert "gbm-1" in only and "gbm-0" not in only and "<html" not in only
    picked = text(mia, base + "?cols=params.depth")
    assert ">depth<" in picked and ">loss<" not in picked
    assert mia.get(base + "?filter=params.lr%20%3D").status_code == 422


def test_run_page_and_artifacts_browser(mia: TestClient, seeded: tuple) -> None:
    run_id = seeded[1][0]
    page = text(mia, f"/ui/runs/{run_id}")
    assert "gbm-0" in page and "model/" in page
    inside = text(mia, f"/ui/runs/{run_id}?path=model")
    assert "model/model.txt" in inside
    r = mia.get(f"/ui/runs/{run_id}/artifact?path=model/model.txt")
    assert r.content == b"weights" and r.headers["content-disposition"].startswith("attachment")


def test_compare_view_params_diff_and_downsampled_metric(mia: TestClient, seeded: tuple) -> None:
    ids = seeded[1]
    qs = "&".join(f"runs={i}" for i in ids)
    page = text(mia, f"/ui/compare?{qs}")
    assert 'lr <span class="tag">differs' in page and "/ui/compare/metric.json?key=loss" in page
    data = mia.get(f"/ui/compare/metric.json?key=loss&{qs}").json()
    assert [s["label"] for s in data["series"]] == ["gbm-0", "gbm-1", "gbm-2"]
    assert all(len(s["values"]) == len(data["x"]) for s in data["series"])
    assert mia.get("/ui/compare").status_code in (400, 422)


def test_metric_buckets_keep_extremes_and_align(seeded: tuple) -> None:
    p = seeded[0]
    spike = p.tracking.create_run("churn-train", run_name="spiky")
    values = [100.0 if s == 7_777 else 1.0 for s in range(10_000)]
    points = [Metric(key="m", value=v, step=s, timestamp=s) for s, v in enumerate(values)]
    p.tracking.log_batch(spike.id, metrics=points)
    short = p.tracking.create_run("churn-train", run_name="short")
    half = [Metric(key="m", value=float(s), step=s, timestamp=s) for s in range(0, 5_000, 10)]
    p.tracking.log_batch(short.id, metrics=half)
    ids = [spike.id, short.id]
    found = p.tracking.metric_buckets(ids, "m", buckets=500)
    assert found.count == 500 and found.width == 20.0
    x, (a, b) = aligned(found, ids)
    assert len(x) == len(a) == len(b) == 1000
    assert max(v for v in a if v is not None) == 100.0
    assert b[-1] is None and b[0] == 0.0
    whole = p.tracking.metric_buckets(seeded[1], "loss")  # 50 steps: one point a step
    x, series = aligned(whole, seeded[1])
    assert x == [float(s) for s in range(50)] and series[0][:2] == [1.0, 0.5]


def test_promotion_needs_a_second_principal(seeded: tuple) -> None:
    p = seeded[0]
    with sign_in(p, "mia") as mia, sign_in(p, "ann") as ann:
        page = text(mia, "/ui/registry/churn")
        r = mia.post(
            "/ui/registry/churn/aliases",
            data={"alias": "champion", "version": "2", "csrf": csrf(page)},
            follow_redirects=False,
        )
        assert r.status_code == 303
        mine = text(mia, "/ui/registry/churn")
        assert "awaiting another approver" in mine
        request_id = re.search(r'id="promotion-([^"]+)"', mine).group(1)  # type: ignore[union-attr]
        own = mia.post(f"/ui/registry/promotions/{request_id}/approve", data={"csrf": csrf(mine)})
        assert own.status_code == 403  # the service refuses self-approval
        queue = text(ann, "/ui/registry")
        assert f"/ui/registry/promotions/{request_id}/approve" in queue
        r = ann.post(
            f"/ui/registry/promotions/{request_id}/approve",
            data={"csrf": csrf(queue), "comment": "ok"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert p.registry.get_registered_model("churn").aliases["champion"] == 2
        history = text(ann, "/ui/registry/churn")
        assert "ann" in history and "v2" in history
        assert "Signature" in text(ann, "/ui/registry/churn/versions/2")
