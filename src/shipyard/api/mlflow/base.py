"""The MLflow edge's plumbing: MLflow's JSON, its error bodies, its request arguments."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from shipyard.api.errors import log_unexpected, mlflow_error
from shipyard.errors import InvalidArgument, ShipyardError

MLFLOW_VERSION = "3.5.0"  # the REST API level served (log_spans and friends excluded)
V2 = "/api/2.0/mlflow"
V3 = "/api/3.0/mlflow"
ART = "/api/2.0/mlflow-artifacts"

#: MLflow bodies nest a few levels; Python's JSON parser recurses per level.
MAX_JSON_DEPTH = 64


class MlflowJSON(Response):
    """JSON with NaN and infinities as MLflow's server writes them."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=True, separators=(",", ":")).encode()


class MlflowRoute(APIRoute):
    """Errors in MLflow's ``{error_code, message}``, at the status every edge uses."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def mapped(request: Request) -> Response:
            try:
                return await handler(request)
            except ShipyardError as exc:
                body, status, headers = mlflow_error(exc)
                return MlflowJSON(body, status_code=status, headers=headers)
            except Exception as exc:  # logged; the caller gets an id to quote, not the text
                if isinstance(exc, _PASSTHROUGH):
                    raise
                rid = log_unexpected(request, exc)
                message = f"internal error (request id {rid})"
                body = {"error_code": "INTERNAL_ERROR", "message": message}
                return MlflowJSON(body, status_code=500, headers={"X-Request-ID": rid})

        return mapped


#: Framework exceptions (validation, HTTP errors, the body limit) keep the app's handlers.
_PASSTHROUGH: tuple[type[BaseException], ...] = (RequestValidationError, HTTPException)


def mlflow_router() -> APIRouter:
    return APIRouter(
        route_class=MlflowRoute,
        default_response_class=MlflowJSON,
        tags=["mlflow"],  # listed in the OpenAPI document: part of the API reference
    )


def _nesting(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, outside strings, without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


async def _args(request: Request) -> dict[str, Any]:
    """The request's parameters: the query string of a GET, else the JSON body.

    Unknown fields are ignored, as MLflow's server does (its clients send fields
    that newer or older servers do not know).
    """
    if request.method == "GET":
        out: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in out:
                prev = out[key]
                out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                out[key] = value
        return out
    raw = await request.body()
    if not raw:
        return {}
    if _nesting(raw) > MAX_JSON_DEPTH:
        raise InvalidArgument(f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidArgument("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidArgument("the request body must be a JSON object")
    return data


Args = Annotated[dict[str, Any], Depends(_args)]
