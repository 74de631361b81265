"""Vector index routes: declare (plan/apply), build, inspect and query (issue #18).

All but the query are made from ``shipyard.vectors.ops``.

The query route answers with orjson bytes itself (no response-model validation). It
is ``async`` and calls ``VectorService.aquery``, which answers a loaded, unfiltered
query on the loop (tens of microseconds) and sends anything that may block (a load,
a catalog read, a filtered or keyword search) to a worker thread. (An earlier
all-on-the-loop version swung between 1.5 and 22 ms under load, and the all-threaded
one paid two thread wake-ups per request: bench/vectors_http.py, docs/vectors.md.)
"""

from __future__ import annotations

from typing import Annotated

import orjson
from annotated_types import Interval
from fastapi import Response
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.params import Body
from shipyard.api.routing import CapabilityRouter
from shipyard.vectors.keywords import MAX_TEXT
from shipyard.vectors.models import MAX_DIMENSION
from shipyard.vectors.ops import OPS, Name
from shipyard.vectors.protocol import VectorsAPI

router = CapabilityRouter(prefix="/vectors", tags=["vectors"])

Scalar = StrictBool | StrictInt | StrictFloat | StrictStr


class QueryIn(Body):
    vector: list[float] | None = Field(default=None, max_length=MAX_DIMENSION)
    id: StrictInt | Annotated[str, Field(max_length=1000)] | None = None
    k: Annotated[int, Interval(ge=-(2**31), le=2**31)] = 10  # the service says 1..10000
    filter: dict[str, Scalar | list[Scalar]] | None = Field(default=None, max_length=100)
    text: Annotated[str, Field(max_length=MAX_TEXT)] | None = None


mount(router, "vectors", VectorsAPI, OPS)


@router.post("/{name}/query", response_model=None)
async def query(platform: Caller, name: Name, body: QueryIn) -> Response:
    """The ``k`` nearest rows to ``vector`` (or to row ``id``), exactly ``k`` when as many match."""
    result = await platform.vectors.aquery(
        name, body.vector, id=body.id, k=body.k, filter=body.filter, text=body.text
    )
    payload = {
        "index": result.index,
        "table_version": result.table_version,
        "ids": result.ids,
        "distances": result.distances,
        "matched": result.matched,
        "method": result.method,
    }
    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
    )
