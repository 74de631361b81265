"""Every operation-table entry is a route of the app, and the route takes every argument sent.

The remote client sends each Protocol argument to the path, the query string or
the JSON body (``shipyard.client.ops``); this test checks, against the app's
OpenAPI, that a route with that verb and path exists and that it declares each
query parameter and body field, so a route can no longer drop an argument.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import shipyard.client
from shipyard.api.app import create_app
from shipyard.client.ops import API, Op, RemoteService
from shipyard.platform import Platform


def remote_services() -> list[type[RemoteService]]:
    # every client module, so the answer does not depend on what earlier tests imported
    for module in pkgutil.iter_modules(shipyard.client.__path__):
        importlib.import_module(f"shipyard.client.{module.name}")
    return sorted(RemoteService.__subclasses__(), key=lambda c: c.__name__)


def _shape(path: str) -> str:
    return re.sub(r"{[^}]+}", "{}", path)


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    p = Platform.open(Path(tmp_path_factory.mktemp("openapi")))
    try:
        return create_app(p).openapi()
    finally:
        p.close()


def _operation(openapi: dict[str, Any], op: Op) -> dict[str, Any] | None:
    for path, verbs in openapi["paths"].items():
        if _shape(path) == _shape(API + op.path) and op.verb.lower() in verbs:
            return dict(verbs[op.verb.lower()])
    return None


def _body_fields(openapi: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    for option in [schema, *schema.get("anyOf", [])]:
        if "$ref" in option:
            name = option["$ref"].rsplit("/", 1)[-1]
            return set(openapi["components"]["schemas"][name].get("properties", {}))
    return set(schema.get("properties", {}))


CASES = [(svc, name) for svc in remote_services() for name in sorted(svc.ops)]


def test_every_capability_has_a_table() -> None:
    assert {c.protocol.__name__ for c in remote_services()} == {
        "CatalogAPI", "SecurityAPI", "AuditAPI", "LakeAPI", "FeatureAPI",
        "TrackingAPI", "RegistryAPI", "ServingAPI", "EventAPI", "JobAPI", "PipelineAPI", "VectorsAPI",
        "QuotaAPI", "UsageAPI",
        "BackupAPI", "LineageAPI",
        "MonitoringAPI",
        "TrainingAPI",
        "PlatformCodeAPI",
        "EnvironmentAPI",
    }  # fmt: skip


@pytest.mark.parametrize(("service", "method"), CASES, ids=[f"{s.__name__}.{m}" for s, m in CASES])
def test_route_takes_every_argument(
    openapi: dict[str, Any], service: type[RemoteService], method: str
) -> None:
    import inspect

    op = service.ops[method]
    operation = _operation(openapi, op)
    assert operation is not None, f"no route {op.verb} {API}{op.path}"
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    body = _body_fields(openapi, operation)
    params = list(inspect.signature(getattr(service.protocol, method)).parameters)[1:]
    for arg in params:
        if arg in op.path_args:
            continue
        if arg == "submit" and op.job is not None:  # travels as the absence of ?wait=true
            assert "wait" in query, f"{op.verb} {op.path}: a job route without ?wait"
            continue
        wire = op.wire.get(arg, arg)
        where, declared = ("query", query) if op.in_query(arg) else ("body", body)
        assert wire in declared, f"{op.verb} {op.path} drops {arg!r} (no {where} field {wire!r})"


def test_a_method_without_operation_or_body_fails_at_import() -> None:
    from typing import Protocol

    class PingAPI(Protocol):
        def ping(self, name: str) -> None: ...
        def pong(self) -> None: ...

    with pytest.raises(TypeError, match=r"pong: no operation and no method"):

        class Half(RemoteService, PingAPI, ops={"ping": Op("GET", "/ping/{name}")}):
            pass

    with pytest.raises(TypeError, match="unknown methods"):

        class Extra(RemoteService, PingAPI, ops={"ping": Op("GET", "/p"), "pong": Op("GET", "/q"), "pung": Op("GET", "/r")}):  # fmt: skip
            pass

    with pytest.raises(TypeError, match="unknown arguments"):

        class Typo(RemoteService, PingAPI, ops={"ping": Op("GET", "/p/{nme}"), "pong": Op("GET", "/q")}):  # fmt: skip
            pass


def test_generated_method_sends_every_argument_where_the_table_says() -> None:
    from typing import Protocol

    sent: list[tuple[Any, ...]] = []

    class Http:
        def request(self, verb: str, path: str, **kwargs: Any) -> Any:
            sent.append((verb, path, kwargs))
            return {"n": 3}

    class CountAPI(Protocol):
        def count(
            self, name: str, *, since: int = 0, tags: list[str] | None = None, owner: str = "x"
        ) -> int: ...

    class RemoteCount(
        RemoteService,
        CountAPI,
        ops={
            "count": Op("POST", "/c/{name}", query=("since",), wire={"owner": "team"}, unwrap="n")
        },
    ):
        pass

    assert RemoteCount(Http()).count("a/b", tags=["t"]) == 3  # type: ignore[abstract]
    verb, path, kwargs = sent[0]
    assert (verb, path) == ("POST", "/api/v1/c/a%2Fb")
    assert kwargs == {"params": {"since": 0}, "json": {"tags": ["t"], "team": "x"}}
