"""The online store seam: packed values by (namespace, entity key), newest event wins.

A namespace is one feature view's value layout (``view:schemahash``); a key is
the entity's join-key values joined into one string; a value is the event
timestamp (microseconds, UTC) and the packed features. The service decides what
to store; a backend only stores and fetches.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from shipyard.errors import ConfigError

if TYPE_CHECKING:
    from shipyard.config import Settings

#: (entity key, event timestamp in microseconds, packed value)
Row = tuple[str, int, bytes]
#: (event timestamp in microseconds, packed value)
Stored = tuple[int, bytes]


class OnlineStore(ABC):
    """Where materialized feature values live for low-latency reads.

    Errors: implementations raise ``BackendUnavailable`` when the server cannot
    be reached; no driver exception escapes.
    """

    #: Optional abilities (checked by the contract suite), e.g. ``"count"``.
    capabilities: frozenset[str] = frozenset()

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> OnlineStore:
        """Build the store from ``settings.online``."""

    @abstractmethod
    def write(self, namespace: str, rows: Iterable[Row]) -> int:
        """Store each row unless the key holds a value with a later event timestamp.

        An equal timestamp replaces the stored value. Returns how many rows were stored.
        """

    def write_packed(
        self, namespace: str, keys: Sequence[str], ts: Sequence[int], blob: bytes, size: int
    ) -> int:
        """``write`` for fixed-size values given back to back in ``blob`` (``size`` bytes each).

        The bulk path of materialization; backends override it to skip per-row objects.
        """
        values = (blob[i * size : (i + 1) * size] for i in range(len(keys)))
        return self.write(namespace, zip(keys, ts, values, strict=True))

    @abstractmethod
    def read(self, namespace: str, keys: Sequence[str]) -> list[Stored | None]:
        """The stored value for each key (``None`` when absent), in the order of ``keys``."""

    @abstractmethod
    def read_one(self, namespace: str, key: str) -> Stored | None:
        """One key: the path a single-entity lookup takes, as lean as the backend allows."""

    @abstractmethod
    def delete_namespace(self, namespace: str) -> int:
        """Drop every key of ``namespace``; returns how many were dropped."""

    @abstractmethod
    def count(self, namespace: str) -> int:
        """How many keys ``namespace`` holds."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


ALIASES = {
    "sqlite": "shipyard.features.backends.sqlite:SqliteOnlineStore",
    "redis": "shipyard.features.backends.redis:RedisOnlineStore",
}


def create_online_store(settings: Settings) -> OnlineStore:
    """The backend named by ``online.backend``: an alias or ``module:Class``.

    Raises:
        ConfigError: an unknown alias, a module that does not import, or not an OnlineStore.
    """
    spec = ALIASES.get(settings.online.backend, settings.online.backend)
    if ":" not in spec:
        raise ConfigError(
            f"online.backend {settings.online.backend!r} is neither "
            f"{' nor '.join(repr(a) for a in ALIASES)} nor 'module:Class'",
            key="online.backend",
        )
    module_name, _, cls_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"online.backend {spec!r} cannot be loaded: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, OnlineStore)):
        raise ConfigError(f"online.backend {spec!r} is not an OnlineStore")
    return cls.from_settings(settings)
