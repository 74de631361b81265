"""Artifacts and models on S3-compatible storage (moto's in-process S3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import moto
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform import Platform


@pytest.fixture
def s3_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with moto.mock_aws():
        boto3.client("s3").create_bucket(Bucket="artifacts")
        p = Platform.open(
            tmp_path,
            artifacts={
                "root": "s3://artifacts/shipyard",
                "storage_options": {"region_name": "us-east-1"},
            },
        )
        yield p
        p.close()


def test_run_artifacts_and_models_on_s3(s3_platform: Platform, tmp_path: Path) -> None:
    p = s3_platform
    X = pd.DataFrame({"a": np.linspace(0, 1, 30), "b": np.linspace(1, 0, 30)})
    y = (X.a > 0.5).astype(int)
    (tmp_path / "notes.txt").write_text("on s3")
    with p.tracking.start_run(experiment="e") as run:
        run.log_artifact(tmp_path / "notes.txt", "docs")
        run.log_model(LogisticRegression().fit(X, y), "model", input_example=X.head(3))
        with pytest.raises(InvalidArgument):
            run.log_text("x", "../../outside.txt")
    assert run.info.artifact_uri.startswith("s3://artifacts/shipyard/")
    assert p.tracking.read_artifact(run.id, "docs/notes.txt") == b"on s3"
    listing = {f.path: f.is_dir for f in p.tracking.list_artifacts(run.id).items}
    assert listing == {"docs": True, "model": True}
    assert "model/MLmodel" in {f.path for f in p.tracking.list_artifacts(run.id, "model").items}
    with pytest.raises(NotFound):
        p.tracking.read_artifact(run.id, "docs/missing.txt")
    p.registry.register_model("s3model", source=f"runs:/{run.id}/model")
    loaded = p.registry.load_model("models:/s3model/1")
    assert loaded.predict(X.head(4)).shape == (4,)
