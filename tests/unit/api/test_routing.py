"""Capability routers turn away requests for other capabilities without trying their routes."""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from shipyard.api.app import ROUTERS
from shipyard.api.routing import API_PREFIX, CapabilityRouter

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

TRIED: list[str] = []


class CountingRoute(APIRoute):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        TRIED.append(self.path)
        return super().matches(scope)


def _app() -> FastAPI:
    app = FastAPI()
    late = CapabilityRouter(prefix="/things", route_class=CountingRoute)
    late.add_api_route("/{name}", lambda name: {"thing": name}, methods=["GET"])
    late.add_api_route("", lambda: ["a"], methods=["GET"])
    first = CapabilityRouter(route_class=CountingRoute)
    first.add_api_route("/teams", lambda: ["t"], methods=["GET"])
    first.add_api_route("/teams/{team}/members", lambda team: [team], methods=["POST"])
    anything = CapabilityRouter()  # a parameter first: never turned away early
    anything.add_api_route("/{page}/about", lambda page: {"page": page}, methods=["GET"])
    for router in (first, late, anything):
        app.include_router(router, prefix=API_PREFIX)
    return app


def test_foreign_paths_skip_a_routers_routes_and_matching_is_unchanged() -> None:
    with TestClient(_app()) as http:
        TRIED.clear()
        assert http.get(f"{API_PREFIX}/things/x").json() == {"thing": "x"}
        assert not [p for p in TRIED if p.startswith("/teams")]  # turned away at once
        assert http.get(f"{API_PREFIX}/things").json() == ["a"]
        assert http.get(f"{API_PREFIX}/teams").json() == ["t"]
        assert http.get(f"{API_PREFIX}/teams/a/members").status_code == 405  # still partial
        assert http.get(f"{API_PREFIX}/elsewhere/about").json() == {"page": "elsewhere"}
        TRIED.clear()
        assert http.get(f"{API_PREFIX}/nothing/here").status_code == 404
        assert TRIED == []


def test_every_capability_router_is_gated() -> None:
    import importlib

    heads: dict[str, Any] = {}
    for name in ROUTERS:
        router = importlib.import_module(f"shipyard.api.routes.{name}").router
        assert isinstance(router, CapabilityRouter), name
        heads[name] = router.heads()
    assert heads["vectors"] == {"vectors"}
    assert all(h for h in heads.values()), "a router whose routes start with a parameter"
