"""An API over a fresh project, plus tokens for principals of each role."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # Starlette 1.x asks for `httpx2` for its test client; httpx is what we ship.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.platform import Platform


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Unexpected errors must come back as 500 responses, not raise in the test.
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin_token(platform: Platform) -> str:
    return platform.security.create_token(name="admin").token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token_for(platform: Platform) -> Callable[..., str]:
    """``token_for("vera", role="viewer", team="default")``: a new principal's token."""

    def make(name: str, *, role: str = "viewer", team: str = "default") -> str:
        platform.security.create_principal(name, role=role, team=team)
        return platform.security.create_token(principal=name).token

    return make
