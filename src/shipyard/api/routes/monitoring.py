"""Monitoring routes, made from ``shipyard.monitoring.ops``, and the Prometheus scrape at ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.monitoring.metrics import CONTENT_TYPE
from shipyard.monitoring.ops import OPS
from shipyard.monitoring.protocol import MonitoringAPI

router = CapabilityRouter(tags=["monitoring"])  # ``/monitoring/...`` and ``/scorecard``
mount(router, "monitoring", MonitoringAPI, OPS)
root_router = APIRouter(tags=["monitoring"])


@root_router.get("/metrics", response_class=Response)
def metrics(platform: Caller) -> Response:
    return Response(platform.monitoring.metrics_text(), media_type=CONTENT_TYPE)
