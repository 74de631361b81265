"""The audit log's operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Literal

from shipyard._internal.ops import Op

OPS = {
    "list_records": Op("GET", "/audit", types={"outcome": Literal["ok", "denied", "error"] | None}),
    # Served on GET and POST (two operation ids): the route is written out.
    "verify": Op("POST", "/audit/verify", served=False),
}
