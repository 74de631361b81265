"""The artifact-store contract on S3, against moto's S3 server on a local port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.errors import InvalidArgument
from shipyard.storage import ArtifactStore, open_artifact_store
from shipyard.storage.s3 import S3ArtifactStore
from tests.contract.artifacts.suite import ArtifactStoreContract
from tests.contract.moto_s3 import MotoS3, moto_s3


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3]:
    with moto_s3() as server:
        yield server


class TestS3ArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, s3: MotoS3) -> ArtifactStore:
        bucket = s3.new_bucket("artifacts")
        return open_artifact_store(f"s3://{bucket}/shipyard", s3.boto3_options())

    def test_keys_live_under_the_root_prefix(self, store: ArtifactStore) -> None:
        assert isinstance(store, S3ArtifactStore)
        store.put_bytes(b"x", "run/a.txt")
        assert store.uri("run/a.txt") == f"s3://{store.bucket}/shipyard/run/a.txt"
        head = store._s3.head_object(Bucket=store.bucket, Key="shipyard/run/a.txt")
        assert head["ContentLength"] == 1

    def test_unknown_storage_option_is_refused(self, s3: MotoS3) -> None:
        with pytest.raises(InvalidArgument, match="unknown artifact storage option"):
            open_artifact_store("s3://b/p", {**s3.boto3_options(), "bogus": "1"})
        with pytest.raises(InvalidArgument, match="names no bucket"):
            open_artifact_store("s3:///p", s3.boto3_options())
