"""Run a contract suite over ``shipyard.connect`` as well as in-process.

A suite's ``plat`` fixture yields ``skin(platform)``. In-process, that is the
platform itself. Remote, it is a ``RemoteView``: each capability's Protocol
methods go to a ``RemotePlatform`` connected, with an admin token of that
platform, to one live server per session (the server's app is pointed at the
test's platform, so each test keeps its own fresh project). Anything outside the
Protocols (``ingest`` of a server-side file, ``plat.context``, a backend's
capability flags) is the in-process platform's, so a contract case runs
unchanged and every call the remote client can make goes over HTTP.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

import shipyard
from shipyard.api.app import create_app
from shipyard.client import RemotePlatform
from shipyard.client.ops import protocol_methods
from shipyard.platform import Platform
from shipyard.security.models import Principal
from tests.servers import live_server

IN_PROCESS, REMOTE = "in-process", "remote"

#: The Protocol of each ``Platform`` attribute that the remote client serves.
PROTOCOLS = {
    "catalog": "shipyard.catalog.protocol:CatalogAPI",
    "security": "shipyard.security.protocol:SecurityAPI",
    "audit": "shipyard.governance.protocol:AuditAPI",
    "lake": "shipyard.lake.protocol:LakeAPI",
    "features": "shipyard.features.protocol:FeatureAPI",
    "tracking": "shipyard.tracking.protocol:TrackingAPI",
    "registry": "shipyard.registry.protocol:RegistryAPI",
    "serving": "shipyard.serving.protocol:ServingAPI",
    "events": "shipyard.events.protocol:EventAPI",
    "vectors": "shipyard.vectors.protocol:VectorsAPI",
    "quotas": "shipyard.quotas.protocol:QuotaAPI",
    "usage": "shipyard.usage.protocol:UsageAPI",
    "monitoring": "shipyard.monitoring.protocol:MonitoringAPI",
}

Skin = Callable[[Platform], Any]


def _methods(capability: str) -> set[str]:
    import importlib

    module, name = PROTOCOLS[capability].split(":")
    return set(protocol_methods(getattr(importlib.import_module(module), name)))


class _Split:
    """One capability: its Protocol methods remote, the rest in-process."""

    def __init__(self, remote: Any, local: Any, methods: set[str]) -> None:
        self._remote, self._local, self._methods = remote, local, methods

    def __getattr__(self, name: str) -> Any:
        return getattr(self._remote if name in self._methods else self._local, name)


class RemoteView:
    """A platform whose capabilities are served over HTTP by ``ContractServer``."""

    def __init__(self, server: ContractServer, local: Platform, remote: RemotePlatform) -> None:
        self._server, self._local, self._remote = server, local, remote
        self._splits: dict[str, _Split] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in PROTOCOLS:
            return getattr(self._local, name)
        if name not in self._splits:
            remote, local = getattr(self._remote, name), getattr(self._local, name)
            self._splits[name] = _Split(remote, local, _methods(name))
        return self._splits[name]

    def as_principal(self, principal: Principal) -> RemoteView:
        """The same, acting for ``principal`` through a token of theirs."""
        return self._server.view(self._local.as_principal(principal), principal.name)


class ContractServer:
    """One live server for a session; each test points it at its own platform."""

    def __init__(self, url: str, app: FastAPI) -> None:
        self.url, self._app = url, app
        self._root: Platform | None = None
        self._clients = ExitStack()

    def serve(self, platform: Platform) -> RemoteView:
        self._app.state.platform = platform
        self._app.state.token_check = None  # the token check belongs to the root it was made for
        self._root = platform
        return self.view(platform, None)

    def view(self, local: Platform, principal: str | None) -> RemoteView:
        assert self._root is not None
        token = self._root.security.create_token(principal=principal).token
        remote = self._clients.enter_context(shipyard.connect(self.url, token))
        return RemoteView(self, local, remote)

    def reset(self) -> None:
        self._clients.close()
        self._clients = ExitStack()
        self._root = None


@pytest.fixture(scope="session")
def contract_server() -> Iterator[ContractServer]:
    with tempfile.TemporaryDirectory(prefix="shipyard-contract-") as home:
        first = Platform.open(Path(home))
        app = create_app(first)
        try:
            with live_server(first, lambda _: app) as url:
                yield ContractServer(url, app)
        finally:
            first.close()


class Skins:
    """Base of a contract suite: ``skin`` is in-process, or remote under tests/contract/.

    ``tests/contract/conftest.py`` runs each case with both skins; a subclass that
    sets ``skins = (IN_PROCESS,)`` (or a case marked ``in_process_only``) runs once.
    """

    skins: tuple[str, ...] = (IN_PROCESS, REMOTE)

    @pytest.fixture
    def skin(self, request: pytest.FixtureRequest) -> Iterator[Skin]:
        if getattr(request, "param", IN_PROCESS) == IN_PROCESS:
            yield lambda platform: platform
            return
        server: ContractServer = request.getfixturevalue("contract_server")
        yield server.serve
        server.reset()
