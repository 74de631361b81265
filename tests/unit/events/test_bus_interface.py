"""The event-bus seam names no database driver: a NATS-only install needs no SQLAlchemy."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest

import shipyard.events.backends.base as base
import shipyard.events.backends.nats as nats_bus
from shipyard._internal.outbox import Outbox

SRC = Path(base.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", ["base.py", "nats.py"])
def test_interface_and_non_sql_backend_import_no_sqlalchemy(module: str) -> None:
    assert not {n for n in _imports(SRC / module) if n.split(".")[0] == "sqlalchemy"}


@pytest.mark.parametrize("method", ["publish", "set_position"])
def test_transaction_parameter_is_the_opaque_outbox(method: str) -> None:
    for cls in (base.EventBus, nats_bus.NatsEventBus):
        hints = typing.get_type_hints(getattr(cls, method), vars(base))
        assert hints["tx"] == Outbox | None
        assert "Connection" not in str(inspect.signature(getattr(cls, method)))
