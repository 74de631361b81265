"""The interface of catalog: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from typing import Any, Protocol

from shipyard._internal.paging import Page
from shipyard.catalog.models import (
    Asset,
    AssetRef,
    AssetVersion,
    LineageGraph,
)


class CatalogAPI(Protocol):
    """What ``CatalogService`` offers both in-process and over HTTP."""

    def search(
        self,
        text: str | None = None,
        *,
        kind: str | None = None,
        tag: str | None = None,
        owner: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Asset]: ...
    def counts(self) -> dict[str, dict[str, int]]:
        """``{team: {kind: assets}}`` over the teams the caller may read."""
        ...

    def get_asset(self, ref: str | AssetRef) -> Asset: ...
    def list_versions(
        self, ref: str | AssetRef, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[AssetVersion]: ...
    def register_asset(
        self,
        ref: str | AssetRef,
        *,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        properties: dict[str, Any] | None = None,
        sources: list[str] | None = None,
        operation: str = "derived",
    ) -> Asset:
        """Register an external asset (or a new version of one) with its upstream assets."""
        ...

    def update_asset(
        self,
        ref: str | AssetRef,
        *,
        description: str | None = None,
        owner: str | None = None,
        tags: list[str] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> Asset: ...
    def lineage(
        self, ref: str | AssetRef, *, direction: str = "upstream", depth: int = 5
    ) -> LineageGraph:
        """Walk lineage edges breadth-first, ``depth`` hops up or down."""
        ...
