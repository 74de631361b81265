"""``RemoteVectorService``: ``VectorsAPI`` over HTTP."""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.client.ops import Op, RemoteService
from shipyard.vectors.protocol import VectorsAPI

INDEX = "/vectors/{name}"


def _vector(value: Any) -> list[float] | None:
    """A query vector (a sequence or an array) as a JSON list of floats."""
    return None if value is None else np.asarray(value, dtype=np.float64).reshape(-1).tolist()


VECTOR_OPS = {
    "plan": Op("POST", "/vectors/plan", encode={"specs": list}),
    "apply": Op("POST", "/vectors/apply", encode={"specs": list}),
    "build": Op("POST", INDEX + "/build"),
    "query": Op("POST", INDEX + "/query", encode={"vector": _vector}),
    "get": Op("GET", INDEX),
    "list": Op("GET", "/vectors"),
}


class RemoteVectorService(RemoteService, VectorsAPI, ops=VECTOR_OPS):
    """``VectorService`` over HTTP."""
