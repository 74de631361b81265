"""The catalog over HTTP: ``CatalogAPI`` from its operation table."""

from __future__ import annotations

from shipyard.catalog.protocol import CatalogAPI
from shipyard.client.ops import Op, RemoteService

ASSET = "/catalog/assets/{ref}"

OPS = {
    "search": Op("GET", "/catalog/assets", wire={"text": "q"}),
    "counts": Op("GET", "/catalog/counts"),
    "get_asset": Op("GET", ASSET),
    "list_versions": Op("GET", ASSET + "/versions"),
    "register_asset": Op("POST", "/catalog/assets"),
    "update_asset": Op("PATCH", ASSET),
    "lineage": Op("GET", ASSET + "/lineage"),
}


class RemoteCatalogService(RemoteService, CatalogAPI, ops=OPS):
    """``CatalogService`` over HTTP."""
