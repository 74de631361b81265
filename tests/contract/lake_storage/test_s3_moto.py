"""The lake-storage contract on S3, against moto's S3 server on a local port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.lake.storage import DeltaStorage, LakeStorage
from tests.contract.lake_storage.suite import LakeStorageContract
from tests.contract.moto_s3 import MotoS3, moto_s3


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3]:
    with moto_s3() as server:
        yield server


class TestS3Moto(LakeStorageContract):
    @pytest.fixture
    def storage(self, s3: MotoS3) -> LakeStorage:
        return DeltaStorage(f"s3://{s3.new_bucket('lake')}/lake", s3.delta_options())

    def test_declares_what_an_object_store_can_do(self, s3: MotoS3) -> None:
        safe = DeltaStorage(f"s3://{s3.new_bucket('lake')}/lake", s3.delta_options())
        assert safe.is_remote and safe.concurrent_writers and not safe.deletes_tables
        unsafe = {k: v for k, v in s3.delta_options().items() if k != "conditional_put"}
        assert not DeltaStorage("s3://b/lake", unsafe).concurrent_writers
