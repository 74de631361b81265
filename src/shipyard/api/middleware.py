"""ASGI middleware at the edge of the API: a bound on request bodies, and a last-resort net.

The net answers an unexpected exception with the same one-line 500 as
``errors.install_error_handlers`` and does not re-raise it: Starlette's outer
error middleware re-raises, and uvicorn then drops the keep-alive connection.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shipyard.api")


class BodyTooLarge(HTTPException):
    """Raised from ``receive``: an HTTPException, so FastAPI's body parsing passes it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit))


def _too_large_message(limit: int) -> str:
    return f"request body larger than {limit} bytes (setting server.max_body_bytes)"


def _request_id(scope: Scope) -> str:
    import uuid

    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            given = value.decode("latin-1")
            if 0 < len(given) <= 128 and given.isprintable():
                return given
    return uuid.uuid4().hex


async def _send_json(send: Send, status: int, body: dict[str, Any], rid: str | None = None) -> None:
    headers = [(b"content-type", b"application/json")]
    if rid:
        headers.append((b"x-request-id", rid.encode()))
    payload = orjson.dumps(body)
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class EdgeMiddleware:
    """413 for a body over ``max_body_bytes``; a logged 500 with a request id for a crash."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        for key, value in scope.get("headers", ()):
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                await self._too_large(send)
                return
        seen = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(send)
        except Exception as exc:  # the last-resort net: never echo, always log
            rid = _request_id(scope)
            log.error(
                "unhandled %s on %s %s (request id %s)",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
                rid,
                exc_info=exc,
            )
            if started:
                raise
            body = {
                "error_code": "INTERNAL_ERROR",
                "message": f"internal error (request id {rid})",
                "details": {"request_id": rid},
            }
            await _send_json(send, 500, body, rid)

    async def _too_large(self, send: Send) -> None:
        body = {
            "error_code": "INVALID_ARGUMENT",
            "message": _too_large_message(self.max_body_bytes),
            "details": {"limit": self.max_body_bytes},
        }
        await _send_json(send, 413, body)
