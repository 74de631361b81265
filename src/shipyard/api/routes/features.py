"""Feature store routes: made from its operation table (``shipyard.features.ops``) but for frames.

``POST /features/online`` and ``/features/push`` are ``async`` and parse the body
with orjson themselves: the lookup takes microseconds, so pydantic and a thread
hop would be most of the request.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request, Response
from pydantic import Field

from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.params import Body, Version, json_object
from shipyard.api.routing import CapabilityRouter
from shipyard.errors import InvalidArgument
from shipyard.features.ops import OPS
from shipyard.features.protocol import FeatureAPI
from shipyard.features.wire import ARROW_STREAM, table_to_wire, to_ipc

router = CapabilityRouter(prefix="/features", tags=["features"])
mount(router, "features", FeatureAPI, OPS)  # below: frames, as records or Arrow

JSON = "application/json"


_ONLINE_FIELDS = frozenset({"features", "feature_service", "entity_rows", "full_feature_names"})
_PUSH_FIELDS = frozenset({"push_source", "rows", "to"})


def _json(value: Any) -> Response:
    return Response(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY), media_type=JSON)


@router.post("/online")
async def get_online_features(request: Request, platform: Caller) -> Response:
    body = json_object(await request.body(), _ONLINE_FIELDS)
    result = platform.features.get_online_features(
        body.get("features"),
        feature_service=body.get("feature_service"),
        entity_rows=body.get("entity_rows") or [],
        full_feature_names=bool(body.get("full_feature_names", False)),
    )
    return _json(result.to_json())


@router.post("/push")
async def push(request: Request, platform: Caller) -> Response:
    body = json_object(await request.body(), _PUSH_FIELDS)
    result = platform.features.push(
        str(body.get("push_source", "")), body.get("rows"), to=body.get("to", "online_and_offline")
    )
    return _json(result.to_dict())


class Retrieve(Body):
    entity_rows: list[dict[str, Any]] | None = None
    entity_source: str | None = Field(None, description="a lake table name or SQL over lake tables")
    features: list[str] | None = None
    feature_service: str | None = None
    full_feature_names: bool = False
    filter_by_created_timestamp: bool = False
    timestamp_column: str | None = None

    def entities(self) -> Any:
        if (self.entity_rows is None) == (self.entity_source is None):
            raise InvalidArgument("pass exactly one of entity_rows or entity_source")
        return self.entity_rows if self.entity_rows is not None else self.entity_source

    def options(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "feature_service": self.feature_service,
            "full_feature_names": self.full_feature_names,
            "filter_by_created_timestamp": self.filter_by_created_timestamp,
            "timestamp_column": self.timestamp_column,
        }


@router.post("/historical")
def get_historical_features(body: Retrieve, request: Request, platform: Caller) -> Response:
    """JSON ``{columns, rows}``, or an Arrow IPC stream when the client accepts one."""
    table = platform.features.get_historical_table(body.entities(), **body.options())
    if ARROW_STREAM in request.headers.get("accept", ""):
        return Response(to_ipc(table), media_type=ARROW_STREAM)
    return _json(table_to_wire(table))


class CreateTrainingSet(Retrieve):
    name: str
    owner: str | None = None
    description: str = ""


@router.post("/training-sets", status_code=201)
def create_training_set(body: CreateTrainingSet, platform: Caller) -> dict[str, Any]:
    ts = platform.features.create_training_set(
        body.name,
        body.entities(),
        **body.options(),
        owner=body.owner,
        description=body.description,
    )
    return ts.to_dict()


@router.post("/training-sets/{name}/rebuild")
def rebuild_training_set(name: str, platform: Caller, version: Version | None = None) -> Response:
    """The training set computed again from its recorded inputs, as an Arrow IPC stream."""
    table = platform.features.rebuild_training_set(name, version)
    return Response(to_ipc(table), media_type=ARROW_STREAM)
