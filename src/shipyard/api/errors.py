"""The one place HTTP maps errors: ``{error_code, message, details}``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shipyard.errors import ShipyardError

log = logging.getLogger("shipyard.api")

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
    """``{error_code, message, details}``; details that JSON cannot hold are printed as text."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str)


def request_id(request: Request) -> str:
    """The caller's ``X-Request-ID`` if it sent a sane one, else a new random id."""
    given = request.headers.get("x-request-id", "")
    if given and len(given) <= 128 and given.isprintable():
        return given
    return uuid.uuid4().hex


def _fields_error(errors: Sequence[Any]) -> ErrorResponse:
    fields = [
        {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
        for e in errors
    ]
    message = "; ".join(f"{f['path']}: {f['message']}" for f in fields).replace("\n", " ")
    return ErrorResponse(
        {"error_code": "INVALID_ARGUMENT", "message": message, "details": {"fields": fields}},
        status_code=422,
    )


def _error_response(exc: ShipyardError) -> ErrorResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return ErrorResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


async def _authenticate(request: Request) -> None:
    """Raise Unauthenticated unless the request is public or carries a valid token."""
    from shipyard.api.deps import authenticated

    if request.url.path.startswith(("/api/", "/v2/")):
        await authenticated(request)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShipyardError)
    async def _shipyard(_request: Request, exc: ShipyardError) -> ErrorResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ErrorResponse:
        # FastAPI parses a body before it runs the router's authentication dependency:
        # a caller without a valid token learns nothing about the route's schema.
        try:
            await _authenticate(request)
        except ShipyardError as denied:
            return _error_response(denied)
        return _fields_error(exc.errors())

    @app.exception_handler(ValidationError)
    async def _model_validation(_request: Request, exc: ValidationError) -> ErrorResponse:
        # A model a route builds from caller input (e.g. a TableDefinition in a JSON field).
        return _fields_error(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> ErrorResponse:
        code = _HTTP_CODES.get(exc.status_code, "INTERNAL_ERROR")
        return ErrorResponse(
            {"error_code": code, "message": str(exc.detail), "details": {}},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ErrorResponse:
        # Logged with its traceback; the caller gets only an id to quote, never the text.
        rid = request_id(request)
        log.error(
            "unhandled %s on %s %s (request id %s)",
            type(exc).__name__,
            request.method,
            request.url.path,
            rid,
            exc_info=exc,
        )
        return ErrorResponse(
            {
                "error_code": "INTERNAL_ERROR",
                "message": f"internal error (request id {rid})",
                "details": {"request_id": rid},
            },
            status_code=500,
            headers={"X-Request-ID": rid},
        )
