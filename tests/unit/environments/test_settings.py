"""Where each environment keeps its state; no environment keeps today's paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.config import load_settings
from shipyard.errors import ConfigError, InvalidArgument


def test_no_environment_keeps_every_path(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    assert s.environment is None
    assert s.home_dir == tmp_path / ".shipyard"
    assert s.catalog_url == f"sqlite:///{tmp_path / '.shipyard' / 'catalog.db'}"
    assert s.lake_root == str(tmp_path / ".shipyard" / "lake")
    assert s.artifact_root == str(tmp_path / ".shipyard" / "artifacts")
    assert s.online_key_prefix == f"shipyard:{tmp_path.name}"
    assert s.catalog_schema is None


def test_each_environment_has_its_own_catalog_lake_artifacts_and_online(tmp_path: Path) -> None:
    shared = {
        "catalog": {"url": "postgresql://127.0.0.1/test"},
        "lake": {"root": "s3://bucket/lake"},
        "artifacts": {"root": str(tmp_path / "art")},
        "online": {"key_prefix": "acme"},
    }
    staging = load_settings(tmp_path, environment="staging", **shared)
    prod = staging.for_environment("prod")
    assert staging.home_dir == tmp_path / ".shipyard" / "envs" / "staging"
    assert staging.catalog_schema == "shipyard_staging" and prod.catalog_schema == "shipyard_prod"
    assert prod.catalog_url.endswith("options=-csearch_path%3Dshipyard_prod")
    assert prod.vectors_url.endswith("shipyard_prod%2Cpublic")
    assert (staging.lake_root, prod.lake_root) == (
        "s3://bucket/lake/staging",
        "s3://bucket/lake/prod",
    )
    assert prod.artifact_root == str(tmp_path / "art" / "prod")
    assert (staging.online_key_prefix, prod.online_key_prefix) == ("acme:staging", "acme:prod")
    assert prod.protected and not staging.protected


def test_an_environment_override_is_used_as_given(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    s = load_settings(
        tmp_path,
        environment="prod",
        catalog={"url": f"sqlite:///{tmp_path / 'c.db'}"},
        environments={"overrides": {"prod": {"catalog": {"url": url}}}},
    )
    assert s.catalog_url == url
    dev = s.for_environment("dev")
    assert dev.catalog_url == f"sqlite:///{tmp_path / 'c.dev.db'}"
    assert dev.for_environment("prod").catalog_url == url


def test_the_environment_comes_from_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_ENVIRONMENT", "staging")
    monkeypatch.setenv("SHIPYARD_ENVIRONMENTS_PROTECTED", '["staging"]')
    s = load_settings(tmp_path)
    assert s.environment == "staging" and s.protected


@pytest.mark.parametrize(
    "bad",
    [
        {"environment": "qa"},
        {"environments": {"names": ["dev", "dev"]}},
        {"environments": {"names": ["Dev!"]}},
        {"environments": {"protected": ["qa"]}},
    ],
)
def test_a_bad_environment_setting_is_a_config_error(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(ConfigError):
        load_settings(tmp_path, **bad)


def test_an_unknown_sibling_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="unknown environment"):
        load_settings(tmp_path).for_environment("../etc")
