"""The Redis online store: one key per entity and view, read with GET/MGET.

A value is the event timestamp (8 bytes, little-endian microseconds) followed
by the packed features. Writes go in chunks through one Lua script that keeps a
stored value whose timestamp is later, so a late or repeated materialization
never replaces a newer value, even with concurrent writers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from shipyard.errors import BackendUnavailable, ConfigError
from shipyard.features.backends.base import OnlineStore, Row, Stored

if TYPE_CHECKING:
    from shipyard.config import Settings

_TS = struct.Struct("<q")
_CHUNK = 2_000
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
        prefix = getattr(settings.online, "key_prefix", None) or f"shipyard:{settings.project}"
        return cls(url=url, key_prefix=prefix)


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
        pack = _TS.pack
        while chunk := list(islice(it, _CHUNK)):
            keys = [self._key(namespace, k) for k, _, _ in chunk]
            values = [pack(ts) + v for _, ts, v in chunk]
            written += int(self._call(self._script, keys, values))
        return written

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
