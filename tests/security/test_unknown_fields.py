"""Every route's request body refuses a field it does not know (a 422 naming it).

A field the route silently dropped looked accepted: an ``owner`` that was never
applied, ``records`` where the route reads ``rows``. Protocol routes keep their
protocol's rule: the MLflow REST API ignores unknown fields as MLflow's server
does, the Open Inference Protocol (``/v2``) follows its specification, and OpenLineage
events (``/api/v1/lineage``) may carry any producer's extra fields and facets.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from shipyard.api.app import create_app
from tests.security.conftest import World
from tests.security.routes import MUTATING_ROUTES, concrete

#: Routes whose body is a protocol's, not Shipyard's.
PROTOCOLS = ("/api/2.0/", "/api/3.0/", "/v2/", "/api/v1/lineage")
#: Routes that parse their JSON body themselves (hot paths); the others declare a model.
HAND_PARSED = {
    "POST /api/v1/deployments/{name}/predict",
    "POST /api/v1/features/online",
    "POST /api/v1/features/push",
    "POST /api/v1/lake/tables/{name}/rows",
}
UNKNOWN = "zz_not_a_field"


def _walk(routes: list[Any], prefix: str) -> Any:
    for route in routes:
        ctx = getattr(route, "include_context", None)
        if ctx is not None:
            yield from _walk(ctx.included_router.routes, prefix + ctx.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def _body_routes(app: Any) -> set[str]:
    """``METHOD /path`` of every route that reads a JSON body of Shipyard's own."""
    out = set(HAND_PARSED)
    for path, route in _walk(list(app.routes), ""):
        if route.body_field is not None and not path.startswith(PROTOCOLS):
            out |= {f"{m} {path}" for m in route.methods}
    return out


@pytest.fixture(scope="module")
def body_routes(world: World) -> set[str]:
    return _body_routes(create_app(world.platform))


def _ids(world: World) -> dict[str, str]:
    ml_token = world.platform.security.list_tokens(principal="ml_admin").items[0].id
    return {"run": world.run_id, "exp": world.experiment_id, "ml_token": ml_token}


def test_every_body_route_is_in_the_table(body_routes: set[str]) -> None:
    missing = body_routes - set(MUTATING_ROUTES)
    assert not missing, f"body-taking routes without a request in routes.py: {sorted(missing)}"


@pytest.mark.parametrize("route", sorted(MUTATING_ROUTES))
def test_an_unknown_body_field_is_refused(world: World, body_routes: set[str], route: str) -> None:
    if route not in body_routes:
        pytest.skip("no body of Shipyard's own (none, raw bytes, or a protocol's)")
    method = route.split(" ", 1)[0]
    path, body = MUTATING_ROUTES[route]
    ids = _ids(world)
    payload: dict[str, Any] = {**concrete(body or {}, ids), UNKNOWN: 1}
    # A caller who may not write there: a route that ignored the field answers 403, not 422.
    with world.client("risk_viewer") as http:
        r = http.request(method, concrete(path, ids), json=payload)
    assert r.status_code == 422, f"{route}: {r.status_code} {r.text[:300]}"
    assert UNKNOWN in r.text and r.json()["error_code"] == "INVALID_ARGUMENT"


def test_every_body_model_forbids_unknown_fields(world: World) -> None:
    lax = []
    for path, route in _walk(list(create_app(world.platform).routes), ""):
        if route.body_field is None:
            continue
        model = route.body_field.field_info.annotation
        for m in getattr(model, "__args__", None) or (model,):  # X | None
            config = getattr(m, "model_config", None)
            if config is not None and config.get("extra") != "forbid":
                lax.append(f"{path}: {m.__name__}")
    assert not lax, f"body models that accept unknown fields: {lax}"
