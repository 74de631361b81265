"""The one place HTTP maps errors: ``{error_code, message, details}``."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse

from shipyard.errors import ShipyardError

log = logging.getLogger("shipyard.api")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShipyardError)
    async def _shipyard(_request: Request, exc: ShipyardError) -> ORJSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return ORJSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> ORJSONResponse:
        fields = [
            {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        message = "; ".join(f"{f['path']}: {f['message']}" for f in fields)
        return ORJSONResponse(
            {"error_code": "INVALID_ARGUMENT", "message": message, "details": {"fields": fields}},
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ORJSONResponse:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        log.exception("unhandled error, request id %s", request_id, exc_info=exc)
        return ORJSONResponse(
            {
                "error_code": "INTERNAL_ERROR",
                "message": f"internal error (request id {request_id})",
                "details": {"request_id": request_id},
            },
            status_code=500,
        )
