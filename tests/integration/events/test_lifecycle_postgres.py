"""The lifecycle-event tests with the catalog (and the SQL event bus) on PostgreSQL:
events join the change's transaction there too, and topics register in a savepoint."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.platform import Platform
from tests.contract.serving.suite import build_served_model
from tests.unit.events.test_lifecycle import (  # noqa: F401 - collected here as well
    test_a_lifecycle_event_triggers_a_pipeline,
    test_alias_changed_and_promotion_approved,
    test_deployment_updated,
    test_events_go_to_the_owning_team_only,
    test_features_materialized,
    test_job_finished_and_job_failed,
    test_model_version_created,
    test_nobody_publishes_on_lifecycle_topics,
    test_run_finished,
    test_table_committed,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def p(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str) -> Iterator[Platform]:
    import psycopg

    name = f"shipyard_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    project: Path = tmp_path_factory.mktemp("lifecycle_pg")
    url = f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
    (project / "shipyard.yaml").write_text(json.dumps({"catalog": {"url": url}}))
    platform = Platform.open(project)
    try:
        build_served_model(platform)
        yield platform
    finally:
        platform.close()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
