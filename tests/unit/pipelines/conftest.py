"""A project whose jobs may run this package's step functions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.platform import Platform

STEPS = "tests.unit.pipelines.steps"


@pytest.fixture
def pp(tmp_path: Path) -> Iterator[Platform]:
    (tmp_path / "shipyard.yaml").write_text(json.dumps({"jobs": {"modules": [STEPS]}}))
    p = Platform.open(tmp_path)
    yield p
    p.close()


def drain(p: Platform, *, batch: int = 1) -> int:
    """Run every queued job (and what they unblock) in this process, then stop."""
    return p.worker(poll_interval=0.005, batch=batch).run(idle_exit=0.3)
