"""An S3 endpoint for contract suites: moto's server on a free local port.

Served over real HTTP, so both boto3 (artifacts) and delta-rs (lake tables) reach
it. It runs in a child process, not in moto's ``ThreadedMotoServer``: some
delta-rs calls hold the GIL while they wait for the answer, so an in-process
server thread could never send it (the call times out after 180 s).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
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
    import boto3
    import moto.server  # noqa: F401 - fail early when moto is not installed

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = MotoS3(url=f"http://127.0.0.1:{port}")
    client = boto3.client("s3", **server.boto3_options())
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.list_buckets()
                break
            except Exception:  # not up yet
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto S3 server did not start") from None
                time.sleep(0.1)
        yield server
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)
