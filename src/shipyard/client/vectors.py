"""``RemoteVectorService``: ``VectorsAPI`` over HTTP (``shipyard.vectors.ops``)."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.vectors.ops import OPS
from shipyard.vectors.protocol import VectorsAPI


class RemoteVectorService(RemoteService, VectorsAPI, ops=OPS):
    """``VectorService`` over HTTP."""
