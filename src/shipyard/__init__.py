"""Shipyard: a complete ML platform in one Python package.

The SDK surface is small on purpose::

    import shipyard
    platform = shipyard.Platform.open(".")          # in-process, embedded backends
    remote = shipyard.connect("http://host:8765", token="shp_...")  # same services over HTTP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.errors import (
    AlreadyExists,
    BackendUnavailable,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    ShipyardError,
    Unauthenticated,
)
from shipyard.platform import Platform

if TYPE_CHECKING:
    from shipyard.client import RemotePlatform

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``@shipyard.table(...)`` without importing the lake (deltalake, DuckDB) up front.
    if name == "table":
        from shipyard.lake import table

        return table
    if name in ("pipeline", "step"):  # ``@shipyard.pipeline`` / ``@shipyard.step``
        from shipyard.pipelines import definitions

        return getattr(definitions, name)
    raise AttributeError(f"module 'shipyard' has no attribute {name!r}")


def connect(url: str, token: str, **kwargs: Any) -> RemotePlatform:
    """A client with the same service interfaces as ``Platform``, over HTTP."""
    from shipyard.client import RemotePlatform

    return RemotePlatform(url, token, **kwargs)


__all__ = [
    "AlreadyExists",
    "BackendUnavailable",
    "Conflict",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Platform",
    "QuotaExceeded",
    "ShipyardError",
    "Unauthenticated",
    "connect",
    "pipeline",
    "step",
    "table",
]
