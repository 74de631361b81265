"""The job-queue contract on a real PostgreSQL server (one database for the module)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.pipelines.retention_suite import RetentionContract
from tests.contract.pipelines.runs_suite import PipelineRunsContract
from tests.contract.pipelines.suite import JobQueueContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_jobs_url(pg_server_url: str) -> Iterator[str]:
    import psycopg

    name = f"shipyard_jobs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TestPostgresJobQueue(JobQueueContract):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path, pg_jobs_url: str) -> str:
        return pg_jobs_url


class TestPostgresPipelineRuns(PipelineRunsContract):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path, pg_jobs_url: str) -> str:
        return pg_jobs_url


class TestPostgresRetention(RetentionContract):
    """Each test counts every row: a database of its own."""

    @pytest.fixture
    def catalog_url(self, tmp_path: Path, pg_server_url: str) -> Iterator[str]:
        import psycopg

        name = f"shipyard_retention_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        yield f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
