"""Every contract suite built on ``tests.contract.remote.Skins`` runs in-process and remote."""

from __future__ import annotations

import pytest

from tests.contract.remote import IN_PROCESS, contract_server

__all__ = ["contract_server"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "skin" not in metafunc.fixturenames:
        return
    skins = list(getattr(metafunc.cls, "skins", (IN_PROCESS,)))
    if metafunc.definition.get_closest_marker("in_process_only"):
        skins = [IN_PROCESS]
    metafunc.parametrize("skin", skins, indirect=True)
