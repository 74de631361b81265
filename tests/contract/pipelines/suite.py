"""The job-queue contract: one suite, run unchanged on every metadata database.

Subclasses provide ``catalog_url``; the suite writes a project whose settings allow
the test functions in ``funcs.py`` and set the limits under test (worker processes
open the same project).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard._internal.clock import utcnow
from shipyard.errors import Conflict, InvalidArgument, PermissionDenied
from shipyard.pipelines.backends.sql import SqlJobQueue
from shipyard.pipelines.models import JobState
from shipyard.platform import Platform

ROOT = Path(__file__).resolve().parents[3]
FUNCS = "tests.contract.pipelines.funcs"
NOOP = "shipyard.pipelines.builtin:noop"

_CLAIMER = """
import json, sys, time
from pathlib import Path
from shipyard.platform import Platform
path, tag = sys.argv[1:3]
p = Platform.open(path)
q = p.jobs.queue
Path(path, "ready-" + tag).touch()
while not Path(path, "go").exists():
    time.sleep(0.002)
got, empty = [], 0
while empty < 20:
    jobs = q.claim(tag, ["race"], limit=3, lease_seconds=60)
    empty = 0 if jobs else empty + 1
    for j in jobs:
        got.append(j.id)
        q.complete(j.id, tag)
    time.sleep(0.001)  # yield the (SQLite) writer lock, so that both claimers really race
Path(path, "claimed-" + tag).write_text(json.dumps(got))
p.close()
"""

_WORKER = """
import sys
from shipyard.platform import Platform
with Platform.open(sys.argv[1]) as p:
    p.worker(pools=["slow"], lease_seconds=float(sys.argv[2]), poll_interval=0.02).run()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}


class JobQueueContract:
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def project(self, tmp_path: Path, catalog_url: str) -> Path:
        settings = {
            "catalog": {"url": catalog_url},
            "jobs": {
                "modules": [FUNCS],
                "pool_limits": {"small": 1},
                "team_limits": {"capped": 2},
            },
        }
        (tmp_path / "shipyard.yaml").write_text(json.dumps(settings))  # JSON is YAML
        return tmp_path

    @pytest.fixture
    def plat(self, project: Path) -> Iterator[Platform]:
        p = Platform.open(project)
        yield p
        p.close()

    @pytest.fixture
    def q(self, plat: Platform) -> SqlJobQueue:
        queue = plat.jobs.queue
        assert isinstance(queue, SqlJobQueue)
        return queue

    def _pool(self, name: str) -> str:
        return f"{name}-{os.urandom(4).hex()}"  # tests may share one database

    # -- ordering and idempotency ------------------------------------------------------

    def test_claims_highest_priority_first_then_oldest(
        self, plat: Platform, q: SqlJobQueue
    ) -> None:
        pool = self._pool("prio")
        low = plat.jobs.submit(NOOP, pool=pool, priority=-5)
        first = plat.jobs.submit(NOOP, pool=pool)
        high = plat.jobs.submit(NOOP, pool=pool, priority=10)
        second = plat.jobs.submit(NOOP, pool=pool)
        got = [j.id for j in q.claim("w", [pool], limit=10)]
        assert got == [high.id, first.id, second.id, low.id]
        claimed = q.get(high.id)
        assert claimed.state == JobState.RUNNING and claimed.worker_id == "w"
        assert claimed.attempts == 1 and claimed.lease_until is not None
        assert q.claim("w2", [pool]) == []

    def test_idempotency_key_queues_once_per_team(self, plat: Platform, q: SqlJobQueue) -> None:
        pool = self._pool("idem")
        a = plat.jobs.submit(NOOP, pool=pool, idempotency_key="k1")
        b = plat.jobs.submit(NOOP, {"other": 1}, pool=pool, idempotency_key="k1")
        c = plat.jobs.submit(NOOP, pool=pool, idempotency_key="k1", team="other")
        assert a.id == b.id and b.args == {} and c.id != a.id
        many = plat.jobs.submit_many(
            [{"target": NOOP, "pool": pool, "idempotency_key": k} for k in ("k1", "k2", "k2")]
        )
        assert many[0].id == a.id and many[1].id == many[2].id
        assert len(q.claim("w", [pool], limit=10)) == 3  # k1 (default), k1 (other), k2

    def test_bad_specs_are_refused_in_one_line(self, plat: Platform) -> None:
        with pytest.raises(InvalidArgument, match="args are"):
            plat.jobs.submit(NOOP, {"blob": "x" * 70_000})
        with pytest.raises(InvalidArgument, match="priority"):
            plat.jobs.submit(NOOP, priority=10_000)
        with pytest.raises(InvalidArgument, match="target"):
            plat.jobs.submit("not a target")
        with pytest.raises(InvalidArgument, match="unknown job state"):
            plat.jobs.list(state="exploded")

    # -- retries, dead letter, cancellation --------------------------------------------

    def test_failures_back_off_exponentially_then_dead_letter(
        self, plat: Platform, q: SqlJobQueue
    ) -> None:
        pool = self._pool("retry")
        job = plat.jobs.submit(NOOP, pool=pool, max_attempts=3, retry_delay=0.2)
        for attempt in (1, 2, 3):
            (claimed,) = self._claim_when_due(q, pool)
            assert claimed.attempts == attempt
            before = utcnow()
            failed = q.fail(job.id, "w", f"oops {attempt}", logs="trace")
            after = utcnow()
            if attempt < 3:
                assert failed.state == JobState.QUEUED and failed.worker_id is None
                # 0.2 * 2**(attempt-1), times a jitter factor in [0.5, 1)
                base = 0.2 * 2 ** (attempt - 1)
                assert (failed.run_after - before).total_seconds() >= 0.5 * base
                assert (failed.run_after - after).total_seconds() < base
                assert q.claim("w", [pool]) == []  # not before its backoff ends
        dead = q.get(job.id)
        assert dead.state == JobState.DEAD and dead.error == "oops 3" and dead.logs == "trace"
        assert dead.finished_at is not None and q.claim("w", [pool]) == []

    def _claim_when_due(self, q: SqlJobQueue, pool: str) -> list:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            got = q.claim("w", [pool])
            if got:
                return got
            time.sleep(0.02)
        raise AssertionError("the retry never became due")

    def test_non_retryable_failure_ends_failed(self, plat: Platform, q: SqlJobQueue) -> None:
        pool = self._pool("perm")
        job = plat.jobs.submit(NOOP, pool=pool, max_attempts=5)
        q.claim("w", [pool])
        assert q.fail(job.id, "w", "bad target", retry=False).state == JobState.FAILED

    def test_cancel_queued_and_running_jobs(self, plat: Platform, q: SqlJobQueue) -> None:
        pool = self._pool("cancel")
        queued = plat.jobs.submit(NOOP, pool=pool, priority=-1)
        running = plat.jobs.submit(NOOP, pool=pool)
        assert [j.id for j in q.claim("w", [pool])] == [running.id]
        assert plat.jobs.cancel(queued.id).state == JobState.CANCELLED
        assert plat.jobs.cancel(running.id).state == JobState.CANCELLED
        assert plat.jobs.cancel(running.id).state == JobState.CANCELLED  # idempotent
        assert q.heartbeat(running.id, "w") is False  # the worker is told to stop
        with pytest.raises(Conflict):
            q.complete(running.id, "w")
        assert q.claim("w", [pool]) == []
        done = plat.jobs.submit(NOOP, pool=pool)
        q.claim("w", [pool])
        q.complete(done.id, "w", result={"n": 1})
        with pytest.raises(Conflict, match="already ended"):
            plat.jobs.cancel(done.id)
        recs = plat.audit.list_records(action="jobs.cancel", asset=f"job:{queued.id}").items
        assert [r.outcome for r in recs] == ["ok"]

    # -- leases ------------------------------------------------------------------------

    def test_expired_lease_is_requeued_and_the_old_holder_is_refused(
        self, plat: Platform, q: SqlJobQueue
    ) -> None:
        pool = self._pool("lease")
        job = plat.jobs.submit(NOOP, pool=pool, max_attempts=2)
        q.claim("old", [pool], lease_seconds=0.2)
        assert q.heartbeat(job.id, "old", lease_seconds=0.2) is True
        time.sleep(0.35)
        assert q.requeue_expired() >= 1
        requeued = q.get(job.id)
        assert requeued.state == JobState.QUEUED and "lease expired" in (requeued.error or "")
        (again,) = q.claim("new", [pool], lease_seconds=0.2)
        assert again.attempts == 2
        with pytest.raises(Conflict):
            q.complete(job.id, "old")
        assert q.heartbeat(job.id, "old") is False
        time.sleep(0.35)
        q.requeue_expired()
        assert q.get(job.id).state == JobState.DEAD  # out of attempts

    # -- concurrency limits ------------------------------------------------------------

    def test_pool_limit_holds_at_claim_time(self, plat: Platform, q: SqlJobQueue) -> None:
        for _ in range(3):
            plat.jobs.submit(NOOP, pool="small", team=self._pool("t"))
        first = q.claim("w1", ["small"], limit=5)
        assert len(first) == 1 and q.claim("w2", ["small"], limit=5) == []
        q.complete(first[0].id, "w1")
        second = q.claim("w2", ["small"], limit=5)
        assert len(second) == 1
        q.fail(second[0].id, "w2", "x", retry=False)
        assert len(q.claim("w3", ["small"], limit=5)) == 1

    def test_team_limit_holds_across_pools(self, plat: Platform, q: SqlJobQueue) -> None:
        pools = [self._pool("a"), self._pool("b")]
        for pool in pools * 2:
            plat.jobs.submit(NOOP, pool=pool, team="capped")
        free = plat.jobs.submit(NOOP, pool=pools[0], team="uncapped", priority=-1)
        got = q.claim("w", pools, limit=10)
        assert sum(j.team == "capped" for j in got) == 2 and free.id in {j.id for j in got}
        assert q.claim("w", pools, limit=10) == []
        q.complete(got[0].id, "w")
        assert len(q.claim("w", pools, limit=10)) == 1
        for j in q.list(state=JobState.RUNNING, teams=["capped"], limit=100).items:
            q.complete(j.id, "w")  # leave no running capped job to other tests

    def test_two_processes_never_claim_the_same_job(self, plat: Platform, project: Path) -> None:
        plat.jobs.submit_many([{"target": NOOP, "pool": "race"} for _ in range(300)])
        procs = [
            subprocess.Popen([sys.executable, "-c", _CLAIMER, str(project), tag], env=_env())
            for tag in ("c1", "c2")
        ]
        deadline = time.monotonic() + 60
        while not all((project / f"ready-{t}").exists() for t in ("c1", "c2")):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.02)
        (project / "go").touch()
        for p in procs:
            assert p.wait(timeout=120) == 0
        c1, c2 = (set(json.loads((project / f"claimed-{t}").read_text())) for t in ("c1", "c2"))
        assert not c1 & c2 and len(c1 | c2) == 300
        assert c1 and c2  # both took part
        assert plat.jobs.list(pool="race", state=JobState.SUCCEEDED, limit=1000).items

    # -- service: authorization, audit, paging ------------------------------------------

    def test_jobs_are_team_owned_authorized_and_audited(self, plat: Platform) -> None:
        job = plat.jobs.submit(NOOP, team="alpha")
        recs = plat.audit.list_records(action="jobs.submit", asset=f"job:{job.id}").items
        assert len(recs) == 1 and recs[0].team == "alpha" and job.created_by == "local-admin"
        name = f"v{os.urandom(3).hex()}"
        viewer = plat.as_principal(plat.security.create_principal(name, team="beta"))
        with pytest.raises(PermissionDenied):
            viewer.jobs.submit(NOOP, team="beta")
        with pytest.raises(PermissionDenied):
            viewer.jobs.get(job.id)
        with pytest.raises(PermissionDenied):
            viewer.jobs.cancel(job.id)
        assert job.id not in {j.id for j in viewer.jobs.list().items}
        denied = plat.audit.list_records(action="jobs.submit", outcome="denied").items
        assert any(r.principal == name for r in denied)

    def test_only_allowed_functions_can_be_queued(self, plat: Platform) -> None:
        for target in ("os:system", "subprocess:run", f"{FUNCS}x:boom"):
            with pytest.raises(PermissionDenied, match="not allowed"):
                plat.jobs.submit(target, {"command": "id"})
        assert plat.jobs.list(limit=1000).items == [] or all(
            j.target.startswith(("shipyard.", FUNCS)) for j in plat.jobs.list(limit=1000).items
        )

    def test_list_pages_newest_first(self, plat: Platform) -> None:
        pool = self._pool("page")
        ids = [plat.jobs.submit(NOOP, pool=pool).id for _ in range(5)]
        page1 = plat.jobs.list(pool=pool, limit=3)
        page2 = plat.jobs.list(pool=pool, limit=3, page_token=page1.next_page_token)
        assert [j.id for j in page1.items + page2.items] == ids[::-1]
        assert page2.next_page_token is None

    # -- workers -----------------------------------------------------------------------

    def test_worker_records_errors_and_logs_and_refuses_unmarked(self, plat: Platform) -> None:
        pool = self._pool("work")
        inproc = plat.jobs.submit(f"{FUNCS}:boom", pool=pool, max_attempts=1, executor="inprocess")
        sub = plat.jobs.submit(f"{FUNCS}:boom", {"message": "bang"}, pool=pool, max_attempts=1)
        unmarked = plat.jobs.submit(f"{FUNCS}:not_marked", pool=pool, max_attempts=3)
        plat.worker(pools=[pool]).run(idle_exit=0.2)
        for job_id, msg in ((inproc.id, "boom"), (sub.id, "bang")):
            job = plat.jobs.get(job_id)
            assert job.state == JobState.DEAD and job.error == f"RuntimeError: {msg}"
            assert "about to fail" in plat.jobs.logs(job_id)
            assert "failing on purpose" in plat.jobs.logs(job_id)
        refused = plat.jobs.get(unmarked.id)
        assert refused.state == JobState.FAILED and "not allowed" in (refused.error or "")

    def test_idle_exit_counts_from_the_end_of_the_last_job(self, plat: Platform) -> None:
        """A retry due just after a long attempt is still run by an ``idle_exit`` worker."""
        pool = self._pool("idle")
        job = plat.jobs.submit(
            f"{FUNCS}:boom",
            {"after": 0.5},
            pool=pool,
            max_attempts=2,
            retry_delay=0.2,
            executor="inprocess",
        )
        plat.worker(pools=[pool]).run(idle_exit=0.3)
        got = plat.jobs.get(job.id)
        assert got.state == JobState.DEAD and got.attempts == 2

    def test_subprocess_timeout_and_memory_limit_fail_the_job(self, plat: Platform) -> None:
        pool = self._pool("limits")
        slow = plat.jobs.submit(
            "shipyard.pipelines.builtin:sleep",
            {"seconds": 30},
            pool=pool,
            timeout=0.5,
            max_attempts=1,
        )
        hog = plat.jobs.submit(
            f"{FUNCS}:hog", {"megabytes": 2048}, pool=pool, memory_mb=256, max_attempts=1
        )
        started = time.monotonic()
        plat.worker(pools=[pool]).run(idle_exit=0.2)
        assert time.monotonic() - started < 20
        assert plat.jobs.get(slow.id).error == "timed out after 0.5 s"
        assert "MemoryError" in (plat.jobs.get(hog.id).error or "")

    def test_cancelling_a_running_subprocess_job_kills_it(self, plat: Platform) -> None:
        pool = self._pool("kill")
        job = plat.jobs.submit("shipyard.pipelines.builtin:sleep", {"seconds": 60}, pool=pool)
        worker = plat.worker(pools=[pool], lease_seconds=0.3)
        thread = threading.Thread(target=worker.run, kwargs={"max_jobs": 1})
        started = time.monotonic()
        thread.start()
        while plat.jobs.get(job.id).state != JobState.RUNNING:
            assert time.monotonic() - started < 30
            time.sleep(0.02)
        plat.jobs.cancel(job.id)
        thread.join(timeout=30)
        assert not thread.is_alive() and time.monotonic() - started < 30
        assert plat.jobs.get(job.id).state == JobState.CANCELLED

    def test_killed_worker_job_is_claimed_again_and_completes_once(
        self, plat: Platform, project: Path
    ) -> None:
        out, started = project / "done.txt", project / "started"
        job = plat.jobs.submit(
            f"{FUNCS}:append_after",
            {"path": str(out), "seconds": 1.5, "started": str(started)},
            pool="slow",
            max_attempts=3,
            executor="inprocess",
        )
        first = subprocess.Popen([sys.executable, "-c", _WORKER, str(project), "1"], env=_env())
        try:
            deadline = time.monotonic() + 60
            while not started.exists():
                assert time.monotonic() < deadline and first.poll() is None
                time.sleep(0.02)
            os.kill(first.pid, signal.SIGKILL)  # kill -9 mid-job
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
        assert plat.jobs.get(job.id).state == JobState.RUNNING  # until its lease expires
        time.sleep(1.1)
        plat.worker(pools=["slow"], lease_seconds=5).run(max_jobs=1, idle_exit=5)
        done = plat.jobs.get(job.id)
        assert done.state == JobState.SUCCEEDED and done.attempts == 2, done
        assert out.read_text() == "done\n"  # completed exactly once
