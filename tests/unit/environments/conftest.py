"""Two environments of one tmp project, each an in-process Platform."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipyard.platform import Platform


@dataclass
class Envs:
    dev: Platform
    prod: Platform
    project: Path


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Envs]:
    """Shared by a module's tests (opening two catalogs costs ~1 s): each uses its own names."""
    project_dir = tmp_path_factory.mktemp("envs")
    (project_dir / "shipyard.yaml").write_text(
        "environments:\n  names: [dev, prod]\n  protected: [prod]\n"
    )
    dev = Platform.open(project_dir, environment="dev")
    prod = Platform.open(project_dir, environment="prod")
    try:
        yield Envs(dev, prod, project_dir)
    finally:
        dev.close()
        prod.close()


def model_in(p: Platform, name: str = "churn", owner: str = "ml") -> int:
    """Register a version of ``name`` whose files are ``model/weights.bin``."""
    exp = p.tracking.create_experiment(f"{name}-exp", owner=owner)
    run = p.tracking.create_run(experiment_id=exp.id, run_name="r")
    p.tracking.put_artifact(run.id, "model/weights.bin", b"\x01\x02weights")
    return p.registry.register_model(name, f"runs:/{run.id}/model", owner=owner).version


def person(p: Platform, name: str, role: str, team: str = "ml") -> Platform:
    """A principal of that environment (created there), and the platform acting as them."""
    return p.as_principal(p.security.create_principal(name, team=team, role=role))
