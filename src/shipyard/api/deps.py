"""Request dependencies: who is calling, as a platform view acting for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shipyard.platform import Platform


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def caller(request: Request) -> Platform:
    """The platform acting for the token's principal (401 when missing or invalid)."""
    root: Platform = request.app.state.platform
    principal = root.security.authenticate(_bearer(request))
    return root.as_principal(principal)


Caller = Annotated[Platform, Depends(caller)]
