"""An S3 endpoint for contract suites: moto's ThreadedMotoServer on a free local port.

Served over real HTTP, so both boto3 (artifacts) and delta-rs (lake tables) reach it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
REGION = "us-east-1"


@dataclass(frozen=True)
class MotoS3:
    url: str

    def boto3_options(self) -> dict[str, str]:
        """``storage_options`` for ``S3ArtifactStore`` (boto3 client keywords)."""
        return {"endpoint_url": self.url, "region_name": REGION, **CREDENTIALS}

    def delta_options(self) -> dict[str, str]:
        """``storage_options`` for delta-rs (object_store keys)."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "AWS_ALLOW_HTTP": "true",
            "conditional_put": "etag",
        }

    def new_bucket(self, stem: str) -> str:
        import boto3

        name = f"{stem}-{uuid.uuid4().hex[:10]}"
        client = boto3.client("s3", **self.boto3_options())
        client.create_bucket(Bucket=name)
        client.close()
        return name


@contextmanager
def moto_s3() -> Iterator[MotoS3]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield MotoS3(url=f"http://{host}:{port}")
    finally:
        server.stop()
