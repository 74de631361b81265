"""The lake contract on S3, against a local moto S3 server started by the tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.lake.suite import LakeServiceContract
from tests.contract.moto_s3 import MotoS3, moto_s3
from tests.contract.remote import IN_PROCESS


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3]:
    with moto_s3() as server:
        yield server


class TestS3Moto(LakeServiceContract):
    skins = (IN_PROCESS,)  # the remote client is proven on the local root; S3 adds nothing to it

    @pytest.fixture
    def lake_settings(self, s3: MotoS3) -> dict[str, Any]:
        return {"root": f"s3://{s3.new_bucket('lake')}/lake", "storage_options": s3.delta_options()}

    def test_declares_safe_concurrent_commits(self, lake_settings: dict[str, Any]) -> None:
        from shipyard.lake.storage import DeltaStorage

        assert DeltaStorage(
            lake_settings["root"], lake_settings["storage_options"]
        ).concurrent_writers
        unsafe = {
            k: v for k, v in lake_settings["storage_options"].items() if k != "conditional_put"
        }
        assert not DeltaStorage(lake_settings["root"], unsafe).concurrent_writers
