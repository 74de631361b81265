"""Artifacts in S3-compatible object storage (boto3, imported lazily).

``storage_options`` keys: ``endpoint_url``, ``region_name``,
``aws_access_key_id``, ``aws_secret_access_key`` (all optional; boto3's own
environment and config files are used otherwise).
"""

from __future__ import annotations

import builtins
import posixpath
from pathlib import Path
from typing import Any

from shipyard.errors import BackendUnavailable, InvalidArgument, NotFound
from shipyard.storage.base import ArtifactStore, FileInfo, safe_key

_CLIENT_OPTIONS = ("endpoint_url", "region_name", "aws_access_key_id", "aws_secret_access_key")


class S3ArtifactStore(ArtifactStore):
    """Objects under ``s3://bucket/prefix``."""

    def __init__(self, root: str, storage_options: dict[str, str]) -> None:
        try:
            import boto3
        except ImportError:
            raise BackendUnavailable(
                "S3 artifact roots need boto3: pip install 'shipyard[s3]'"
            ) from None
        body = root.removeprefix("s3://")
        bucket, _, prefix = body.partition("/")
        if not bucket:
            raise InvalidArgument(f"artifact root '{root}' names no bucket", root=root)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        unknown = set(storage_options) - set(_CLIENT_OPTIONS)
        if unknown:
            raise InvalidArgument(
                f"unknown artifact storage option(s): {', '.join(sorted(unknown))}",
                allowed=list(_CLIENT_OPTIONS),
            )
        self._s3: Any = boto3.client("s3", **storage_options)

    def _key(self, key: str) -> str:
        return safe_key(self.prefix, key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFound(f"no artifact at '{kwargs.get('Key')}'") from None
            raise BackendUnavailable(f"S3 error on bucket {self.bucket}: {code}") from None
        except BotoCoreError as exc:
            raise BackendUnavailable(f"S3 is unavailable: {exc}") from None

    def put_file(self, local: Path, key: str) -> None:
        self.put_bytes(local.read_bytes(), key)

    def put_bytes(self, data: bytes, key: str) -> None:
        self._call(self._s3.put_object, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        resp = self._call(self._s3.get_object, Key=self._key(key))
        return bytes(resp["Body"].read())

    def list(self, prefix: str, *, limit: int | None = None) -> list[FileInfo]:
        base = self._key(prefix)
        base = base + "/" if base else ""
        out: list[FileInfo] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": base, "Delimiter": "/"}
            if token:
                kwargs["ContinuationToken"] = token
            resp = self._call(self._s3.list_objects_v2, **kwargs)
            for cp in resp.get("CommonPrefixes", []):
                name = cp["Prefix"][len(base) :].rstrip("/")
                out.append(
                    FileInfo(path=posixpath.join(prefix, name) if prefix else name, is_dir=True)
                )
            for obj in resp.get("Contents", []):
                name = obj["Key"][len(base) :]
                if name:
                    rel = posixpath.join(prefix, name) if prefix else name
                    out.append(FileInfo(path=rel, is_dir=False, file_size=obj["Size"]))
            token = resp.get("NextContinuationToken")
            if not token or (limit is not None and len(out) > limit):
                break
        return sorted(out, key=lambda f: f.path)

    def _walk(self, prefix: str) -> builtins.list[str]:
        base = self._key(prefix)
        keys: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": base + "/" if base else ""}
            if token:
                kwargs["ContinuationToken"] = token
            resp = self._call(self._s3.list_objects_v2, **kwargs)
            keys.extend(o["Key"] for o in resp.get("Contents", []))
            token = resp.get("NextContinuationToken")
            if not token:
                return keys

    def local_path(self, key: str, cache_dir: Path) -> Path:
        dest = cache_dir / safe_key(key)
        keys = self._walk(key)
        if not keys:  # a single file
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(self.get_bytes(key))
            return dest
        base = self._key(key) + "/"
        for full in keys:
            target = dest / safe_key(full[len(base) :])
            target.parent.mkdir(parents=True, exist_ok=True)
            resp = self._call(self._s3.get_object, Key=full)
            target.write_bytes(resp["Body"].read())
        return dest

    def delete(self, prefix: str) -> None:
        for full in self._walk(prefix):
            self._call(self._s3.delete_object, Key=full)
        if safe_key(prefix):  # ``prefix`` may name a single object (missing is fine on S3)
            self._call(self._s3.delete_object, Key=self._key(prefix))
