"""One HTTP session with the error mapping every remote service uses."""

from __future__ import annotations

from typing import Any

import httpx

from shipyard.errors import ERRORS_BY_CODE, BackendUnavailable, ShipyardError


class HttpTransport:
    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base_url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
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


def _error_from(response: httpx.Response) -> ShipyardError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = body.get("error_code") if isinstance(body, dict) else None
    cls = ERRORS_BY_CODE.get(code or "", ShipyardError)
    message = (body.get("message") if isinstance(body, dict) else None) or response.text
    err = cls(str(message), **(body.get("details") or {} if isinstance(body, dict) else {}))
    return err
