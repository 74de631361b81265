"""The one error table of Shipyard's HTTP edges, and the handlers the API installs.

Every edge answers a ``ShipyardError`` with the status of its class
(``shipyard.errors``; one status per class, whatever the protocol):

- the HTTP API and the inference server with ``{error_code, message, details}``
  (``shipyard_error``);
- the MLflow REST API with MLflow's own ``{error_code, message}``, the code taken
  from ``MLFLOW_CODES`` (``mlflow_error``): MLflow clients read the code, not the status.

Anything else is a logged 500 carrying a request id and nothing of the exception
(``internal_error``). This module imports Starlette only (not FastAPI), so the
inference server shares it without loading the full API.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from shipyard.errors import (
    AlreadyExists,
    BackendUnavailable,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    ShipyardError,
    Unauthenticated,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("shipyard.api")

#: Shipyard error class -> MLflow ``error_code`` (the nearest class in the MRO wins).
#: The status is the class's own ``http_status``, the same on every edge.
MLFLOW_CODES: dict[type[ShipyardError], str] = {
    ShipyardError: "INTERNAL_ERROR",
    NotFound: "RESOURCE_DOES_NOT_EXIST",
    AlreadyExists: "RESOURCE_ALREADY_EXISTS",
    InvalidArgument: "INVALID_PARAMETER_VALUE",
    # MLflow's server answers a conflicting write (a param logged again with another
    # value) with INVALID_PARAMETER_VALUE, and its clients match on that code.
    Conflict: "INVALID_PARAMETER_VALUE",
    Unauthenticated: "UNAUTHENTICATED",
    PermissionDenied: "PERMISSION_DENIED",
    QuotaExceeded: "RESOURCE_EXHAUSTED",
    BackendUnavailable: "TEMPORARILY_UNAVAILABLE",
}

#: Wire codes for errors raised by the framework itself (unknown path, wrong method...).
_HTTP_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "QUOTA_EXCEEDED",
    503: "BACKEND_UNAVAILABLE",
}


class ErrorResponse(Response):
    """JSON; details that JSON cannot hold are printed as text."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, default=str)
        except TypeError:  # an integer past 64 bits (orjson refuses it): json prints it
            return json.dumps(content, default=str).encode()


def mlflow_code(exc: ShipyardError) -> str:
    for cls in type(exc).__mro__:
        code = MLFLOW_CODES.get(cls)
        if code is not None:
            return code
    return "INTERNAL_ERROR"  # pragma: no cover - ShipyardError is always in the MRO


def _headers(status: int, exc: ShipyardError | None = None) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, QuotaExceeded):
        # A quota refusal says when to come back (whole seconds, RFC 9110 section 10.2.3).
        wait = exc.details.get("retry_after")
        if isinstance(wait, int | float) and wait > 0:
            return {"Retry-After": str(max(1, int(-(-wait // 1))))}
    return None


def shipyard_error(exc: ShipyardError) -> ErrorResponse:
    """``{error_code, message, details}`` at the class's status (API, inference server)."""
    status = exc.http_status
    return ErrorResponse(exc.to_dict(), status_code=status, headers=_headers(status, exc))


def mlflow_error(exc: ShipyardError) -> tuple[dict[str, Any], int, dict[str, str] | None]:
    """MLflow's ``{error_code, message}``, at the same status as every other edge."""
    status = exc.http_status
    return {"error_code": mlflow_code(exc), "message": exc.message}, status, _headers(status, exc)


def request_id(request: Request) -> str:
    """The caller's ``X-Request-ID`` if it sent a sane one, else a new random id."""
    given = request.headers.get("x-request-id", "")
    if given and len(given) <= 128 and given.isprintable():
        return given
    return uuid.uuid4().hex


def log_unexpected(request: Request, exc: BaseException) -> str:
    """Log ``exc`` with its traceback; the request id the caller gets to quote."""
    rid = request_id(request)
    log.error(
        "unhandled %s on %s %s (request id %s)",
        type(exc).__name__,
        request.method,
        request.url.path,
        rid,
        exc_info=exc,
    )
    return rid


def internal_error(request: Request, exc: BaseException) -> ErrorResponse:
    """A logged 500 with a request id; never the exception's text."""
    rid = log_unexpected(request, exc)
    return ErrorResponse(
        {
            "error_code": "INTERNAL_ERROR",
            "message": f"internal error (request id {rid})",
            "details": {"request_id": rid},
        },
        status_code=500,
        headers={"X-Request-ID": rid},
    )


def http_error(exc: StarletteHTTPException) -> ErrorResponse:
    """A framework error (unknown path, wrong method, body too large) in the same shape."""
    return ErrorResponse(
        {
            "error_code": _HTTP_CODES.get(exc.status_code, "INTERNAL_ERROR"),
            "message": str(exc.detail),
            "details": {},
        },
        status_code=exc.status_code,
        headers=exc.headers,
    )


def _fields_error(errors: Sequence[Any]) -> ErrorResponse:
    fields = [
        {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
        for e in errors
    ]
    message = "; ".join(f"{f['path']}: {f['message']}" for f in fields).replace("\n", " ")
    return ErrorResponse(
        {"error_code": "INVALID_ARGUMENT", "message": message, "details": {"fields": fields}},
        status_code=InvalidArgument.http_status,
    )


async def _authenticate(request: Request) -> None:
    """Raise Unauthenticated unless the request is public or carries a valid token."""
    from shipyard.api.deps import authenticated

    if request.url.path.startswith(("/api/", "/v2/")):
        await authenticated(request)


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(ShipyardError)
    async def _shipyard(_request: Request, exc: ShipyardError) -> ErrorResponse:
        return shipyard_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ErrorResponse:
        # FastAPI parses a body before it runs the router's authentication dependency:
        # a caller without a valid token learns nothing about the route's schema.
        try:
            await _authenticate(request)
        except ShipyardError as denied:
            return shipyard_error(denied)
        return _fields_error(exc.errors())

    @app.exception_handler(ValidationError)
    async def _model_validation(_request: Request, exc: ValidationError) -> ErrorResponse:
        # A model a route builds from caller input (e.g. a TableDefinition in a JSON field).
        return _fields_error(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> ErrorResponse:
        return http_error(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ErrorResponse:
        # Logged with its traceback; the caller gets only an id to quote, never the text.
        return internal_error(request, exc)
