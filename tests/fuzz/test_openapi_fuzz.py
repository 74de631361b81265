"""Schemathesis over the whole OpenAPI document the app serves: no 5xx, no hang.

In-process (the ASGI app, no sockets), as an admin, against a project seeded with
a table, an experiment, a run and a model, so that generated names sometimes hit
something. Operations that would lock the fuzzer out (token revocation and
creation, role changes) are excluded. ``SHIPYARD_FUZZ_EXAMPLES`` raises the
number of cases per operation for a longer run (default 20: about 2k requests, ~1 min).
"""

from __future__ import annotations

import os
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from shipyard.api.app import create_app
from shipyard.platform import Platform

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore")]

EXAMPLES = int(os.environ.get("SHIPYARD_FUZZ_EXAMPLES", "20"))
#: The slowest answer allowed to one generated request (a hang fails well before this).
MAX_SECONDS = 10.0
#: Requests run and the slowest seen, for the session's summary line.
STATS: dict[str, Any] = {"requests": 0, "slowest": 0.0}


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    project: Path = tmp_path_factory.mktemp("fuzz")
    with Platform.open(project) as platform:
        token = platform.security.create_token(name="fuzz").token
        platform.lake.write("bronze.events", pa.table({"id": [1, 2], "v": ["a", "b"]}))
        exp = platform.tracking.create_experiment("fuzz")
        platform.tracking.create_run(experiment_id=exp.id)
        platform.registry.create_registered_model("churn")
        yield create_app(platform), token
    print(
        f"\nfuzz: {STATS['requests']} requests, slowest {STATS['slowest']:.2f}s,"
        f" by status {dict(sorted(STATS.get('by_status', {}).items()))}"
    )


@pytest.fixture(scope="module")
def api_schema(fuzz_target: tuple[Any, str]) -> Any:
    app, _ = fuzz_target
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    schema = schema.exclude(path_regex=r"^/api/v1/tokens")
    return schema.exclude(path_regex=r"^/api/v1/principals/[^/]+/roles")


def _fuzz_operation(operation: Any, token: str, failures: list[str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        started = time.perf_counter()
        STATS["requests"] += 1
        where = f"{case.method} {case.formatted_path}"
        try:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
        except Exception as exc:  # the app raised through the ASGI transport: a 500
            failures.append(f"{where} -> raised {type(exc).__name__}: {str(exc)[:200]}")
            return
        took = time.perf_counter() - started
        STATS["slowest"] = max(STATS["slowest"], took)
        STATS.setdefault("by_status", Counter())[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{where} -> {response.status_code}: {response.text[:200]}")
        elif took > MAX_SECONDS:
            failures.append(f"{where} took {took:.1f}s")

    run()


def test_no_server_error_and_no_hang(api_schema: Any, fuzz_target: tuple[Any, str]) -> None:
    # One loop over the operations (schemathesis' pytest plugin needs an older pytest).
    _, token = fuzz_target
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        _fuzz_operation(operation, token, failures)
    assert STATS["requests"] >= len(operations) * min(EXAMPLES, 3)
    assert not failures, "\n".join(sorted(set(failures)))
