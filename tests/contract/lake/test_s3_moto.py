"""The lake contract on S3, against a local moto S3 server started by the tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.lake.suite import LakeStorageContract
from tests.contract.remote import IN_PROCESS


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    import boto3
    import moto.server  # noqa: F401

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.list_buckets()
                break
            except Exception:  # not up yet
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto S3 server did not start")
                time.sleep(0.1)
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


class TestS3Moto(LakeStorageContract):
    skins = (IN_PROCESS,)  # the remote client is proven on the local root; S3 adds nothing to it

    @pytest.fixture
    def lake_settings(self, s3_url: str) -> dict[str, Any]:
        import boto3

        bucket = f"lake-{uuid.uuid4().hex[:8]}"
        client = boto3.client(
            "s3",
            endpoint_url=s3_url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=bucket)
        client.close()
        return {
            "root": f"s3://{bucket}/lake",
            "storage_options": {
                "AWS_ENDPOINT_URL": s3_url,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": "us-east-1",
                "AWS_ALLOW_HTTP": "true",
                "conditional_put": "etag",
            },
        }

    def test_declares_safe_concurrent_commits(self, lake_settings: dict[str, Any]) -> None:
        from shipyard.lake.storage import DeltaStorage

        assert DeltaStorage(
            lake_settings["root"], lake_settings["storage_options"]
        ).concurrent_writers
        unsafe = {
            k: v for k, v in lake_settings["storage_options"].items() if k != "conditional_put"
        }
        assert not DeltaStorage(lake_settings["root"], unsafe).concurrent_writers
