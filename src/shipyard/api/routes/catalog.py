"""Catalog routes, made from the catalog's operation table (``shipyard.catalog.ops``)."""

from __future__ import annotations

from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.catalog.ops import OPS
from shipyard.catalog.protocol import CatalogAPI

router = CapabilityRouter(prefix="/catalog", tags=["catalog"])
mount(router, "catalog", CatalogAPI, OPS)
