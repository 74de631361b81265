"""Vector index routes: declare (plan/apply), build, inspect and query (issue #18).

All but the query are made from ``shipyard.vectors.ops``.

The query route answers with orjson bytes itself (no response-model validation). It
is a plain ``def`` (run in the thread pool), not ``async``: measured against
``shipyard serve`` on loopback, the async version's p50 swung between 1.5 and 22 ms
while another process loaded the machine; the threaded one stayed at 1.5 ms
(bench/vectors.py, docs/vectors.md).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from annotated_types import Interval
from fastapi import APIRouter, Response
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.params import Body
from shipyard.vectors.keywords import MAX_TEXT
from shipyard.vectors.models import MAX_DIMENSION
from shipyard.vectors.ops import OPS, Name
from shipyard.vectors.protocol import VectorsAPI

router = APIRouter(prefix="/vectors", tags=["vectors"])

Scalar = StrictBool | StrictInt | StrictFloat | StrictStr


class QueryIn(Body):
    vector: list[float] | None = Field(default=None, max_length=MAX_DIMENSION)
    id: StrictInt | Annotated[str, Field(max_length=1000)] | None = None
    k: Annotated[int, Interval(ge=-(2**31), le=2**31)] = 10  # the service says 1..10000
    filter: dict[str, Scalar | list[Scalar]] | None = Field(default=None, max_length=100)
    text: Annotated[str, Field(max_length=MAX_TEXT)] | None = None


mount(router, "vectors", VectorsAPI, OPS)


@router.post("/{name}/query", response_model=None)
def query(platform: Caller, name: Name, body: QueryIn) -> Response:
    """The ``k`` nearest rows to ``vector`` (or to row ``id``), exactly ``k`` when as many match."""
    result = platform.vectors.query(
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
