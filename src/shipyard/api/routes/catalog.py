"""Catalog routes, made from the catalog's operation table (``shipyard.catalog.ops``)."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.generated import mount
from shipyard.catalog.ops import OPS
from shipyard.catalog.protocol import CatalogAPI

router = APIRouter(prefix="/catalog", tags=["catalog"])
mount(router, "catalog", CatalogAPI, OPS)
