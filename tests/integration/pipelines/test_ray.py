"""The same pipeline runs unchanged in-process, in a subprocess and on Ray (a local
instance, ``ray.init`` with 2 CPUs); only ``jobs.executor`` differs. Its run's lineage
(what its failing step read and wrote through the platform) is the same too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform

pytest.importorskip("ray")

STEPS = "tests.unit.pipelines.steps"
PIPELINE = {
    "name": "chain",
    "steps": [
        {"name": "a", "function": f"{STEPS}:emit", "args": {"value": 2}},
        {"name": "b", "function": f"{STEPS}:add", "after": ["a"], "args": {"plus": 3}},
        {
            "name": "boom",
            "function": f"{STEPS}:copy_then_fail",
            "after": ["b"],
            "args": {"source": "bronze.src", "target": "gold.out"},
            "max_attempts": 1,
        },
        {"name": "never", "function": f"{STEPS}:emit", "after": ["boom"]},
    ],
}


def _run(project: Path, executor: str) -> tuple[str, dict[str, dict[str, object]], object]:
    import pyarrow as pa

    project.mkdir()
    settings = {"jobs": {"modules": [STEPS], "executor": executor, "ray_num_cpus": 2}}
    (project / "shipyard.yaml").write_text(json.dumps(settings))
    with Platform.open(project) as p:
        p.lake.write("bronze.src", pa.table({"x": [1, 2, 3]}))
        p.pipelines.apply([PIPELINE])
        run = p.pipelines.run("chain")
        Worker(p, poll_interval=0.005).run(idle_exit=1.0)
        done = p.pipelines.get_run(run.id)
        out = {}
        for step, state in done.steps.items():
            job = p.jobs.get(state["job"]) if "job" in state else None
            out[step] = {
                "state": state["state"],
                "result": job.result if job else None,
                "error": (job.error or "").split(":")[0] if job else None,
                "logs": "failing on purpose" in (job.logs or "") if job else None,
            }
        up = p.catalog.lineage(run.asset, direction="upstream", depth=1).edges
        down = p.catalog.lineage(run.asset, direction="downstream", depth=1).edges
        lineage = ({e.source.name for e in up}, {e.target.name for e in down})
        return done.state, out, lineage


@pytest.mark.slow
def test_the_same_pipeline_runs_unchanged_on_every_executor(tmp_path: Path) -> None:
    from shipyard.pipelines.ray_executor import shutdown

    try:
        results = {ex: _run(tmp_path / ex, ex) for ex in ("inprocess", "subprocess", "ray")}
    finally:
        shutdown()
    state, steps, lineage = results["inprocess"]
    assert state == "failed"
    assert steps["b"]["result"] == {"value": 5}
    assert steps["boom"]["state"] == "failed" and steps["boom"]["error"] == "RuntimeError"
    assert steps["boom"]["logs"] is True  # its output was captured
    assert steps["never"]["state"] == "skipped"
    # what the failing step read and wrote before it failed: the run's lineage
    assert lineage == ({"chain", "bronze.src"}, {"gold.out"})
    assert results["subprocess"] == results["ray"] == results["inprocess"]
