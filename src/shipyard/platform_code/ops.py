"""Platform as code's operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from shipyard._internal.ops import Op

OPS = {
    "plan": Op("POST", "/platform/plan"),
    "apply": Op("POST", "/platform/apply"),
}
