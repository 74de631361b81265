"""The pipeline run engine and scheduler on one metadata database (SQLite, PostgreSQL).

Subclasses give ``catalog_url``. Tests may share one database: every test names its
own pipelines and pools.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shipyard.pipelines.models import JobState
from shipyard.pipelines.runs import RunState
from shipyard.platform import Platform

STEPS = "tests.unit.pipelines.steps"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _step(
    name: str, fn: str = "emit", after: list[str] | None = None, **more: Any
) -> dict[str, Any]:
    return {"name": name, "function": f"{STEPS}:{fn}", "after": after or [], **more}


class PipelineRunsContract:
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str) -> Iterator[Platform]:
        settings = {"catalog": {"url": catalog_url}, "jobs": {"modules": [STEPS]}}
        (tmp_path / "shipyard.yaml").write_text(json.dumps(settings))
        p = Platform.open(tmp_path)
        yield p
        p.close()

    def _name(self, base: str) -> str:
        return f"{base}_{os.urandom(4).hex()}"

    def _apply(self, p: Platform, name: str, steps: list[dict[str, Any]], **more: Any) -> None:
        pool = f"pool-{name}"
        p.pipelines.apply([{"name": name, "steps": [{**s, "pool": pool} for s in steps], **more}])

    def _drain(self, p: Platform, name: str, workers: int = 1) -> None:
        pool = f"pool-{name}"
        threads = [
            threading.Thread(
                target=p.worker(pools=[pool], poll_interval=0.005).run, kwargs={"idle_exit": 0.5}
            )
            for _ in range(workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def test_a_chain_passes_values_and_a_failure_skips_downstream(self, plat: Platform) -> None:
        name = self._name("chain")
        steps = [
            _step("a", args={"value": 2}),
            _step("b", "add", ["a"]),
            _step("boom", "fail", ["a"], max_attempts=1),
            _step("never", "add", ["boom"]),
        ]
        self._apply(plat, name, steps)
        run = plat.pipelines.run(name)
        self._drain(plat, name)
        done = plat.pipelines.get_run(run.id)
        assert {k: v["state"] for k, v in done.steps.items()} == {
            "a": "succeeded",
            "b": "succeeded",
            "boom": "failed",
            "never": "skipped",
        }
        assert done.state == RunState.FAILED
        assert plat.jobs.get(done.steps["b"]["job"]).result == {"value": 3}

    def test_the_dependent_step_is_claimed_as_its_upstream_is_recorded(
        self, plat: Platform
    ) -> None:
        name = self._name("handoff")
        pool = f"pool-{name}"
        self._apply(plat, name, [_step("a"), _step("b", "add", ["a"])])
        run = plat.pipelines.run(name)
        worker = plat.worker(pools=[pool])
        [a] = plat.jobs.queue.claim(worker.worker_id, [pool])
        worker.run_batch([a])
        b = plat.jobs.get(plat.pipelines.get_run(run.id).steps["b"]["job"])
        # held by this worker as a's success committed: no poll, no claim of its own
        assert b.state == JobState.RUNNING and b.worker_id == worker.worker_id
        assert plat.jobs.get(a.id).state == JobState.SUCCEEDED
        worker.run(idle_exit=0.1)  # runs what it holds though nothing is left to claim
        assert plat.pipelines.get_run(run.id).state == RunState.SUCCEEDED
        assert plat.jobs.get(b.id).result == {"value": 2}

    def test_wide_joins_under_two_workers_queue_each_step_once(self, plat: Platform) -> None:
        name = self._name("wide")
        fan = [_step(f"m{i}", "add", ["a"]) for i in range(8)]
        steps = [_step("a"), *fan, _step("j", "add", [s["name"] for s in fan])]
        self._apply(plat, name, steps)
        runs = [plat.pipelines.run(name) for _ in range(3)]
        self._drain(plat, name, workers=2)
        for run in runs:
            done = plat.pipelines.get_run(run.id)
            assert done.state == RunState.SUCCEEDED, done.error
            assert plat.jobs.get(done.steps["j"]["job"]).result == {"value": 8 * 2 + 1}
        joins = [j for j in plat.jobs.list(pool=f"pool-{name}", limit=1000).items if j.step == "j"]
        assert len(joins) == 3

    def test_racing_schedulers_fire_each_tick_once(self, plat: Platform) -> None:
        name = self._name("cron")
        sched = {"cron": "*/10 * * * *", "timezone": "America/New_York", "catchup": "all"}
        self._apply(plat, name, [_step("a")], schedule=sched)
        plat.pipelines.scheduler().tick(T0)
        barrier = threading.Barrier(3)
        started: list[list[str]] = []

        def race() -> None:
            barrier.wait()
            started.append(plat.pipelines.scheduler().tick(T0 + timedelta(hours=1)))

        threads = [threading.Thread(target=race) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mine = plat.pipelines.list_runs(name, limit=1000).items
        assert len(mine) == 6, [started, [r.trigger_key for r in mine]]
        assert len({r.trigger_key for r in mine}) == 6
        assert sum(len(s) for s in started) >= 6  # (other tests' pipelines may fire too)

    def test_a_scheduler_that_was_down_catches_up_by_policy(self, plat: Platform) -> None:
        name = self._name("down")
        sched = {"cron": "0 * * * *", "timezone": "UTC", "catchup": "run-once"}
        self._apply(plat, name, [_step("a")], schedule=sched, partitioned="daily")
        plat.pipelines.scheduler().tick(T0)
        plat.pipelines.scheduler().tick(T0 + timedelta(hours=5, minutes=1))
        (run,) = plat.pipelines.list_runs(name).items
        assert run.trigger_key == "cron:2026-06-01T17:00:00+00:00"
        assert run.partition == "2026-05-31"

    def test_a_step_functions_reads_and_writes_are_the_runs_lineage(self, plat: Platform) -> None:
        """What a step function does through the platform links its run's ``job:`` asset
        (ADR 0041), seen through the catalog's lineage API."""
        import pyarrow as pa

        name = self._name("copy")
        src, mid, out = f"bronze.{name}", f"silver.{name}", f"gold.{name}"
        plat.lake.write(src, pa.table({"x": [1, 2, 3]}))
        steps = [
            _step("silver", "copy_table", args={"source": src, "target": mid}),
            _step("gold", "copy_table", ["silver"], args={"source": mid, "target": out}),
        ]
        self._apply(plat, name, steps)

        def hop(ref: str) -> tuple[set[str], set[str]]:
            up = plat.catalog.lineage(ref, direction="upstream", depth=1).edges
            down = plat.catalog.lineage(ref, direction="downstream", depth=1).edges
            return {e.source.name for e in up}, {e.target.name for e in down}

        for _ in range(2):  # a rerun reads and writes the same: the same lineage
            run = plat.pipelines.run(name)
            self._drain(plat, name)
            assert plat.pipelines.get_run(run.id).state == RunState.SUCCEEDED
            # read src; wrote mid and out; mid, which the second step read after the
            # first wrote it, is not also an input (no cycle)
            assert hop(run.asset) == ({name, src}, {mid, out})
