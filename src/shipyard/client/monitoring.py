"""``RemoteMonitoringService``: ``MonitoringAPI`` over HTTP (``/api/v1/monitoring``)."""

from __future__ import annotations

from shipyard.client.ops import Op, RemoteService
from shipyard.monitoring.protocol import MonitoringAPI

DEPLOYMENT = "/monitoring/deployments/{deployment}"
TABLE = "/monitoring/tables/{table}"

OPS = {
    "profile_table": Op("POST", "/monitoring/profiles"),
    "profile_model_version": Op("POST", "/monitoring/profiles/model/{name}/{version}"),
    "get_profile": Op("GET", "/monitoring/profiles/{kind}/{name}"),
    "run_drift": Op("POST", DEPLOYMENT + "/drift"),
    "list_drift_reports": Op("GET", DEPLOYMENT + "/drift"),
    "model_performance": Op("GET", DEPLOYMENT + "/performance"),
    "check_table_quality": Op("POST", TABLE + "/quality"),
    "table_quality": Op("GET", TABLE + "/quality"),
    "feature_freshness": Op("GET", "/monitoring/features/freshness"),
    "scorecard": Op("GET", "/scorecard"),
}


class RemoteMonitoringService(RemoteService, MonitoringAPI, ops=OPS):
    """``MonitoringService`` over HTTP."""
