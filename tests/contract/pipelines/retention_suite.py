"""Job history retention on one metadata database (SQLite, PostgreSQL): what a prune
deletes and what it keeps (ADR 0056). Subclasses give ``catalog_url``; the checks that
do not depend on the database run on SQLite only (``test_retention_sqlite.py``).

Rows are made through the queue and then aged with a direct update (a worker would
take seconds to make the same history); each test has its own database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard.errors import NotFound
from shipyard.pipelines import retention
from shipyard.pipelines.models import Executor, JobSpec
from shipyard.pipelines.tables import jobs, pipeline_runs, pipeline_ticks
from shipyard.platform import Platform

STEPS = "tests.unit.pipelines.steps"
DAY = timedelta(days=1)


class World:
    """A project's job history, made to measure."""

    def __init__(self, p: Platform) -> None:
        self.p = p
        self.now = utcnow()

    def job(
        self,
        state: str,
        age: timedelta | None,
        *,
        kind: str = "job",
        logs: str | None = None,
        run: tuple[str, str] | None = None,
    ) -> str:
        """A job in ``state`` that finished ``age`` ago (None: not finished)."""
        spec = JobSpec(target=f"{STEPS}:emit", kind=kind, executor=Executor.INPROCESS)
        links = [run] if run is not None else None
        job = self.p.jobs.queue.enqueue_many([spec], team="ml", created_by="t", links=links)[0]
        created = self.now - (age or timedelta(0)) - timedelta(minutes=1)
        finished = None if age is None else self.now - age
        with self.p.context.db.begin() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job.id)
                .values(state=state, created_at=created, finished_at=finished, logs=logs)
            )
        return job.id

    def run(self, state: str, age: timedelta | None, step_states: dict[str, str]) -> str:
        """A pipeline run in ``state`` (finished ``age`` ago) with one job per step."""
        run_id = f"run{len(self.runs())}{state[:3]}"
        steps = {}
        for step, st in step_states.items():
            job_age = age if st not in ("queued", "running") else None
            steps[step] = {"state": st, "job": self.job(st, job_age, run=(run_id, step))}
        with self.p.context.db.begin() as conn:
            conn.execute(
                pipeline_runs.insert().values(
                    id=run_id,
                    pipeline="pipe",
                    pipeline_version=1,
                    team="ml",
                    state=state,
                    trigger="manual",
                    spec={},
                    steps=steps,
                    created_by="t",
                    created_at=self.now - (age or timedelta(0)) - timedelta(minutes=5),
                    finished_at=None if age is None else self.now - age,
                )
            )
        return run_id

    def tick(self, key: str, age: timedelta) -> None:
        with self.p.context.db.begin() as conn:
            conn.execute(
                pipeline_ticks.insert().values(
                    pipeline="pipe", tick_key=key, run_id=None, created_at=self.now - age
                )
            )

    def jobs(self) -> set[str]:
        with self.p.context.db.connect() as conn:
            return {r.id for r in conn.execute(sa.select(jobs.c.id))}

    def runs(self) -> set[str]:
        with self.p.context.db.connect() as conn:
            return {r.id for r in conn.execute(sa.select(pipeline_runs.c.id))}

    def ticks(self) -> set[str]:
        with self.p.context.db.connect() as conn:
            return {r.tick_key for r in conn.execute(sa.select(pipeline_ticks.c.tick_key))}


class RetentionContract:
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def w(self, tmp_path: Path, catalog_url: str) -> Iterator[World]:
        settings = {"catalog": {"url": catalog_url}, "jobs": {"modules": [STEPS]}}
        (tmp_path / "shipyard.yaml").write_text(json.dumps(settings))
        p = Platform.open(tmp_path)
        yield World(p)
        p.close()

    def _history(self, w: World) -> tuple[dict[str, str], dict[str, str]]:
        """Every case once: ``(gone, kept)`` job ids by what they are."""
        old, recent = 40 * DAY, 2 * DAY
        gone = {
            "old succeeded": w.job("succeeded", old, logs="printed\n"),
            "old failed": w.job("failed", old),
            "old dead-lettered": w.job("dead", old),
            "old cancelled": w.job("cancelled", old),
            "canary 2 days": w.job("succeeded", recent, kind="canary"),
            "slo 2 days": w.job("succeeded", recent, kind="slo"),
            "inference_log 2 days": w.job("succeeded", recent, kind="inference_log"),
            "jobs_prune 2 days": w.job("succeeded", recent, kind="jobs_prune"),
            "old canary": w.job("succeeded", old, kind="canary"),
        }
        kept = {
            "queued long ago": w.job("queued", None),
            "running long ago": w.job("running", None),
            "recent succeeded": w.job("succeeded", recent),
            "recent failed": w.job("failed", recent),
            "canary failed 2 days": w.job("failed", recent, kind="canary"),
            "canary dead 2 days": w.job("dead", recent, kind="canary"),
            "canary an hour": w.job("succeeded", timedelta(hours=1), kind="canary"),
            "an operation 2 days": w.job("succeeded", recent, kind="operation"),
        }
        return gone, kept

    def test_prune_deletes_what_is_past_retention_and_keeps_the_rest(self, w: World) -> None:
        gone, kept = self._history(w)
        old_run = w.run("succeeded", 40 * DAY, {"a": "succeeded", "b": "succeeded"})
        failed_run = w.run("failed", 40 * DAY, {"a": "failed"})
        recent_run = w.run("succeeded", 2 * DAY, {"a": "succeeded"})
        live_run = w.run("running", None, {"a": "succeeded", "b": "running"})
        odd_run = w.run("failed", 40 * DAY, {"a": "failed", "b": "running"})
        w.tick("cron:old", 40 * DAY)
        w.tick("cron:recent", 2 * DAY)
        before = w.jobs()
        steps_of = {r: self._steps(w, r) for r in w.runs()}

        out = w.p.jobs.prune()

        left = w.jobs()
        assert not set(gone.values()) & left, {k for k, v in gone.items() if v in left}
        assert set(kept.values()) <= left, {k for k, v in kept.items() if v not in left}
        assert w.runs() == {recent_run, live_run, odd_run}
        for run in (old_run, failed_run):
            assert not steps_of[run] & left  # a deleted run's step jobs go with it
        for run in (recent_run, live_run, odd_run):
            assert steps_of[run] <= left  # a kept run keeps every step job
        assert w.ticks() == {"cron:recent"}
        assert out.jobs == len(gone) and out.periodic_jobs == 4
        assert (out.runs, out.step_jobs, out.ticks) == (2, 3, 1)
        assert len(before) - len(left) == out.jobs + out.step_jobs
        with pytest.raises(NotFound):  # the logs were the row's
            w.p.jobs.logs(gone["old succeeded"])
        assert w.p.jobs.prune().jobs == 0  # nothing left to do

    def _steps(self, w: World, run_id: str) -> set[str]:
        with w.p.context.db.connect() as conn:
            q = sa.select(jobs.c.id).where(jobs.c.run_id == run_id)
            return {r.id for r in conn.execute(q)}

    def test_batches_delete_everything_in_several_transactions(self, w: World) -> None:
        ids = [w.job("succeeded", 40 * DAY) for _ in range(7)]
        runs = [w.run("succeeded", 40 * DAY, {"a": "succeeded"}) for _ in range(3)]
        before, periodic = retention.cutoffs(30, 24)
        out = retention.prune(
            w.p.context.db,
            before=before,
            periodic_before=periodic,
            periodic_kinds=["canary"],
            batch=2,  # 4 transactions of jobs, 3 of one run each
        )
        assert (out.jobs, out.runs, out.step_jobs) == (7, 3, 3)
        assert not set(ids) & w.jobs() and not set(runs) & w.runs()
