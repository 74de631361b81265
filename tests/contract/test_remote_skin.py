"""The remote skin of the contract suites really goes over HTTP for every Protocol method."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.platform import Platform
from tests.contract.remote import PROTOCOLS, ContractServer, _methods


def test_protocol_methods_are_remote_and_the_rest_local(
    platform: Platform, contract_server: ContractServer
) -> None:
    view = contract_server.serve(platform)
    try:
        for capability in PROTOCOLS:
            service = getattr(view, capability)
            for name in _methods(capability):
                assert isinstance(getattr(service, name).__self__, RemoteService), name
        assert not isinstance(view.lake.ingest.__self__, RemoteService)
        assert view.context is platform.context
        asset = view.catalog.register_asset("table:bronze.x")
        assert platform.catalog.get_asset("table:bronze.x") == asset
        assert [r.action for r in platform.audit.list_records(asset="table:bronze.x@1").items] == [
            "catalog.register"
        ]
    finally:
        contract_server.reset()
