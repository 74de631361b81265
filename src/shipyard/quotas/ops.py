"""The quotas operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

from shipyard._internal.ops import Op
from shipyard.quotas.models import QuotaResource, QuotaScope

QUOTA = "/quotas/{scope}/{subject}/{resource}"
KEY = {"scope": QuotaScope, "resource": QuotaResource}

OPS = {
    # ``limit`` here is the cap, not a page size.
    "set_quota": Op("PUT", QUOTA, types={**KEY, "limit": Annotated[int, Interval(ge=0, le=2**62)]}),
    "delete_quota": Op("DELETE", QUOTA, types=KEY),
    "list_quotas": Op(
        "GET", "/quotas", types={"scope": QuotaScope | None, "resource": QuotaResource | None}
    ),
}
