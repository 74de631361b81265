"""Quotas and usage over HTTP: ``QuotaAPI`` and ``UsageAPI`` from their operation tables."""

from __future__ import annotations

from shipyard.client.ops import Op, RemoteService
from shipyard.quotas.protocol import QuotaAPI
from shipyard.usage.protocol import UsageAPI

QUOTA = "/quotas/{scope}/{subject}/{resource}"

QUOTA_OPS = {
    "set_quota": Op("PUT", QUOTA),
    "delete_quota": Op("DELETE", QUOTA),
    "list_quotas": Op("GET", "/quotas"),
}

USAGE_OPS = {
    "meter": Op("POST", "/usage/meter"),
    "report": Op("GET", "/usage"),
}


class RemoteQuotaService(RemoteService, QuotaAPI, ops=QUOTA_OPS):
    """``QuotaService`` over HTTP."""


class RemoteUsageService(RemoteService, UsageAPI, ops=USAGE_OPS):
    """``UsageService`` over HTTP."""
