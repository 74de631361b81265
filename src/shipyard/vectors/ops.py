"""The vectors operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from shipyard._internal.ops import Op

INDEX = "/vectors/{name}"
Name = Annotated[str, Field(max_length=200)]
NAME = {"name": Name}
SPECS = Op(
    "POST",
    "/vectors/plan",
    encode={"specs": list},
    types={"specs": Annotated[list[dict[str, Any]], Field(max_length=1000)]},
)


def _vector(value: Any) -> list[float] | None:
    """A query vector (a sequence or an array) as a JSON list of floats."""
    return None if value is None else np.asarray(value, dtype=np.float64).reshape(-1).tolist()


OPS = {
    "list": Op("GET", "/vectors"),
    "plan": SPECS,
    "apply": Op("POST", "/vectors/apply", encode=SPECS.encode, types=SPECS.types),
    "get": Op("GET", INDEX, types=NAME),
    "build": Op("POST", INDEX + "/build", types=NAME),
    # Answered with orjson bytes, no response model (the hot path): written out.
    "query": Op("POST", INDEX + "/query", encode={"vector": _vector}, served=False),
}
