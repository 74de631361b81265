"""The Redis online store: one key per entity and view, read with GET/MGET.

A value is the event timestamp (8 bytes, little-endian microseconds) followed
by the packed features. Writes go in chunks: one MGET splits a chunk into absent
keys (one atomic MSETNX) and keys that exist (compared key by key by a Lua script
that keeps a later stored value; so are the absent ones if MSETNX finds that one
appeared meanwhile). A late or repeated materialization never replaces a newer
value, even with concurrent writers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.errors import BackendUnavailable, ConfigError
from shipyard.features.backends.base import OnlineStore, Row, Stored

if TYPE_CHECKING:
    from shipyard.config import Settings

_TS = struct.Struct("<q")
_CHUNK = 10_000
# KEYS: the keys; ARGV: the values (8-byte timestamp prefix). Returns how many were stored.
_WRITE_NEWER = """
local n = 0
for i, key in ipairs(KEYS) do
  local new = ARGV[i]
  local old = redis.call('GET', key)
  if (not old) or struct.unpack('<l', string.sub(old, 1, 8)) <= struct.unpack('<l', string.sub(new, 1, 8)) then
    redis.call('SET', key, new)
    n = n + 1
  end
end
return n
"""


@dataclass
class RedisOnlineStoreConfig:
    url: str
    key_prefix: str

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisOnlineStoreConfig:
        url = settings.online.url
        if not url or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                f"online.url must be a redis:// URL for the redis backend (got {url!r})",
                key="online.url",
            )
        return cls(url=url, key_prefix=settings.online_key_prefix)


class RedisOnlineStore(OnlineStore):
    capabilities = frozenset({"count"})

    def __init__(self, url: str, *, key_prefix: str = "shipyard") -> None:
        try:
            import redis
        except ImportError:
            raise BackendUnavailable("the redis backend needs the 'redis' package") from None
        self._redis_errors = (redis.RedisError, OSError)
        self.url = url
        self.prefix = key_prefix
        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_WRITE_NEWER)
        self._sha = self._script.sha.encode()

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisOnlineStore:
        cfg = RedisOnlineStoreConfig.from_settings(settings)
        return cls(cfg.url, key_prefix=cfg.key_prefix)

    def _key(self, namespace: str, key: str) -> str:
        return f"{self.prefix}:{namespace}:{key}"

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except self._redis_errors as exc:
            raise BackendUnavailable(f"Redis online store is unavailable: {exc}") from None

    def write(self, namespace: str, rows: Iterable[Row]) -> int:
        it = iter(rows)
        written = 0
        fresh = [True]
        pack = _TS.pack
        while chunk := list(islice(it, _CHUNK)):
            newest: dict[str, tuple[int, bytes]] = {}
            for k, ts, v in chunk:
                key = self._key(namespace, k)
                if key not in newest or newest[key][0] <= ts:
                    newest[key] = (ts, pack(ts) + v)
            written += self._write_chunk(newest, fresh=fresh)
        return written

    def write_packed(
        self, namespace: str, keys: Sequence[str], ts: Sequence[int], blob: bytes, size: int
    ) -> int:
        """Fixed-size values: the timestamp prefixes are packed with numpy, not per row."""
        n = len(keys)
        rec = np.empty(n, dtype=np.dtype([("t", "<i8"), ("v", f"V{size}")]))
        rec["t"] = np.asarray(ts, dtype=np.int64)
        rec["v"] = np.frombuffer(blob, dtype=f"V{size}", count=n)
        raw, width = rec.tobytes(), size + 8
        written = 0
        fresh = [True]
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            prefix = f"{self.prefix}:{namespace}:"
            newest = {
                prefix + keys[i]: (ts[i], raw[i * width : (i + 1) * width])
                for i in range(start, stop)
            }
            written += self._write_chunk(newest, fresh=fresh)
        return written

    def _command(self, *args: bytes) -> Any:
        """One command packed here (redis-py packs 100k arguments ~10x slower in Python)."""
        parts = [b"*%d\r\n" % len(args)]
        parts += [b"$%d\r\n%b\r\n" % (len(a), a) for a in args]
        pool = self._client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command([b"".join(parts)])
            return conn.read_response()
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def _compare_and_set(self, keys: list[bytes], values: list[bytes]) -> int:
        import redis

        try:
            return int(self._command(b"EVALSHA", self._sha, b"%d" % len(keys), *keys, *values))
        except redis.exceptions.NoScriptError:
            return int(self._script(keys, values))  # loads the script, then runs it

    def _write_chunk(self, newest: dict[str, tuple[int, bytes]], *, fresh: list[bool]) -> int:
        """Write the values that are not older than the stored ones.

        While ``fresh[0]`` holds (no key of an earlier chunk existed) the whole chunk
        is first tried as one MSETNX. Otherwise one MGET splits the chunk: absent keys go in one MSETNX (atomic: it sets
        nothing if any of them appeared meanwhile, and then they go through the
        script too); only keys that exist and hold an older or equal timestamp are
        compared, key by key, by the Lua script. A fresh namespace is one MGET of
        nils and one MSETNX per chunk.
        """
        keys = [k.encode() for k in newest]
        stamps = [t for t, _ in newest.values()]
        values = [v for _, v in newest.values()]
        unpack = _TS.unpack_from
        try:
            if fresh[0]:
                if self._command(
                    b"MSETNX", *[x for kv in zip(keys, values, strict=True) for x in kv]
                ):
                    return len(keys)
                fresh[0] = False
            olds = self._command(b"MGET", *keys)
            absent = [i for i, o in enumerate(olds) if o is None]
            older = [i for i, o in enumerate(olds) if o is not None and unpack(o)[0] <= stamps[i]]
            written = 0
            if absent:
                pairs = [x for i in absent for x in (keys[i], values[i])]
                if self._command(b"MSETNX", *pairs):
                    written, absent = len(absent), []
            compare = older + absent
            if compare:
                written += self._compare_and_set(
                    [keys[i] for i in compare], [values[i] for i in compare]
                )
            return written
        except self._redis_errors as exc:
            raise BackendUnavailable(f"Redis online store is unavailable: {exc}") from None

    def read_one(self, namespace: str, key: str) -> Stored | None:
        raw = self._call(self._client.get, f"{self.prefix}:{namespace}:{key}")
        if raw is None:
            return None
        return _TS.unpack_from(raw)[0], raw[8:]

    def read(self, namespace: str, keys: Sequence[str]) -> list[Stored | None]:
        if not keys:
            return []
        raws = self._call(self._client.mget, [self._key(namespace, k) for k in keys])
        unpack = _TS.unpack_from
        return [None if r is None else (unpack(r)[0], r[8:]) for r in raws]

    def _scan(self, namespace: str) -> Iterable[bytes]:
        pattern = f"{self.prefix}:{namespace}:*"
        return self._call(lambda: list(self._client.scan_iter(match=pattern, count=10_000)))

    def delete_namespace(self, namespace: str) -> int:
        keys = list(self._scan(namespace))
        dropped = 0
        for start in range(0, len(keys), 10_000):
            dropped += int(self._call(self._client.unlink, *keys[start : start + 10_000]))
        return dropped

    def count(self, namespace: str) -> int:
        return len(list(self._scan(namespace)))

    def close(self) -> None:
        self._client.close()
