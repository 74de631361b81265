"""Quotas and usage over HTTP: ``QuotaAPI`` and ``UsageAPI`` from their operation tables."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.quotas.ops import OPS as QUOTA_OPS
from shipyard.quotas.protocol import QuotaAPI
from shipyard.usage.ops import OPS as USAGE_OPS
from shipyard.usage.protocol import UsageAPI


class RemoteQuotaService(RemoteService, QuotaAPI, ops=QUOTA_OPS):
    """``QuotaService`` over HTTP."""


class RemoteUsageService(RemoteService, UsageAPI, ops=USAGE_OPS):
    """``UsageService`` over HTTP."""
