"""Step functions the pipeline tests run (allowed through ``jobs.modules``)."""

from __future__ import annotations

from typing import Any

import shipyard


@shipyard.step
def emit(value: int = 1, **extra: Any) -> dict[str, Any]:
    """Answer a small value (and what the run passed: inputs, partition)."""
    return {"value": value, **extra}


@shipyard.step
def add(inputs: dict[str, Any], plus: int = 1) -> dict[str, Any]:
    """Sum the upstream values, plus ``plus``."""
    return {"value": sum(v["value"] for v in inputs.values()) + plus}


@shipyard.step
def fail(**_: Any) -> None:
    print("failing on purpose")
    raise RuntimeError("step failed on purpose")


@shipyard.step
def whoami() -> dict[str, Any]:
    """Whom the job's platform calls act as (``job_platform``), and the job's context."""
    from shipyard.pipelines.functions import current_job
    from shipyard.step_actions import job_platform

    job = current_job()
    assert job is not None
    return {"acting": job_platform().principal.name, "job": job.job_id, "team": job.team}


@shipyard.step
def copy_table(source: str, target: str) -> dict[str, Any]:
    """Read ``source`` with SQL and write it to ``target`` through the job's platform."""
    from shipyard.step_actions import job_platform

    p = job_platform()
    info = p.lake.write(target, p.lake.sql(f"SELECT * FROM {source}"), mode="overwrite")
    return {"table": target, "version": info.version}


@shipyard.step
def copy_then_fail(source: str, target: str) -> None:
    """``copy_table``, then fail: what it touched before failing is still the run's."""
    copy_table(source, target)
    print("failing on purpose")
    raise RuntimeError("step failed on purpose")
