"""Environments and promotion between them (ADR 0028), made from ``shipyard.environments.ops``."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.generated import mount
from shipyard.environments.ops import OPS
from shipyard.environments.protocol import EnvironmentAPI

router = APIRouter(tags=["environments"])
mount(router, "environments", EnvironmentAPI, OPS)
