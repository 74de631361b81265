"""One HTTP session with the error mapping every remote service uses."""

from __future__ import annotations

import json
from typing import Any

import httpx

from shipyard.errors import (
    ERRORS_BY_CODE,
    BackendUnavailable,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    ShipyardError,
    Unauthenticated,
)


class HttpTransport:
    """A keep-alive HTTP session to one Shipyard server, acting with one bearer token.

    Error responses are raised as the matching ``ShipyardError`` subclass; a
    server that cannot be reached raises ``BackendUnavailable``.
    """

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base_url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if kwargs.get("json") is not None:
            # NaN and infinities travel as JSON's common extension (MLflow metrics hold them);
            # the server decides whether a value may hold one (event records may not).
            kwargs["content"] = _dumps(kwargs.pop("json"))
            kwargs["headers"] = {
                "content-type": "application/json",
                **(kwargs.get("headers") or {}),
            }
        kwargs.pop("json", None)
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"cannot reach Shipyard at {self.base_url}: {exc}", url=self.base_url
            ) from None
        if response.status_code >= 400:
            raise _error_from(response)
        if not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def close(self) -> None:
        self._client.close()


def _dumps(body: Any) -> bytes:
    from shipyard.client.ops import jsonable

    # ``jsonable`` only for what json cannot write itself (models, datetimes, mappings).
    return json.dumps(body, separators=(",", ":"), allow_nan=True, default=jsonable).encode()


#: When a response carries no known wire code (a proxy's 502, a framework 404...).
_BY_STATUS: dict[int, type[ShipyardError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: InvalidArgument,
    429: QuotaExceeded,
    502: BackendUnavailable,
    503: BackendUnavailable,
    504: BackendUnavailable,
}


def _error_from(response: httpx.Response) -> ShipyardError:
    """The typed error for an error response, through the allow-list of wire codes."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    code = body.get("error_code")
    cls = ERRORS_BY_CODE.get(code) if isinstance(code, str) else None
    if cls is None:
        cls = _BY_STATUS.get(response.status_code, ShipyardError)
    message = body.get("message") or response.text or f"HTTP {response.status_code}"
    err = cls(str(message))
    details = body.get("details")
    err.details = dict(details) if isinstance(details, dict) else {}
    err.details.setdefault("http_status", response.status_code)
    return err
