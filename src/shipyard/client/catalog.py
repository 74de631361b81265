"""The catalog over HTTP: ``CatalogAPI`` from its operation table."""

from __future__ import annotations

from shipyard.catalog.ops import OPS
from shipyard.catalog.protocol import CatalogAPI
from shipyard.client.ops import RemoteService


class RemoteCatalogService(RemoteService, CatalogAPI, ops=OPS):
    """``CatalogService`` over HTTP."""
