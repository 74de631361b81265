"""The catalog's operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Interval
from pydantic import Field

from shipyard._internal.ops import Op
from shipyard.catalog.service import MAX_DEPTH

# ``{ref:path}`` lets a name hold "/"; the longer paths come first so that
# ``.../versions`` and ``.../lineage`` are not read as part of a name.
ASSET = "/catalog/assets/{ref:path}"
REF = {"ref": str}

OPS = {
    "search": Op("GET", "/catalog/assets", wire={"text": "q"}),
    "counts": Op("GET", "/catalog/counts"),
    "register_asset": Op(
        "POST",
        "/catalog/assets",
        status=201,
        types={"ref": Annotated[str, Field(min_length=3, description="kind:name[@version]")]},
    ),
    "list_versions": Op("GET", ASSET + "/versions", types=REF),
    "lineage": Op(
        "GET",
        ASSET + "/lineage",
        types={
            **REF,
            "direction": Literal["upstream", "downstream"],
            "depth": Annotated[int, Interval(ge=1, le=MAX_DEPTH)],
        },
    ),
    "get_asset": Op("GET", ASSET, types=REF),
    "update_asset": Op("PATCH", ASSET, types=REF),
}
