"""`shipyard pipelines ...` and `shipyard scheduler` as a user drives them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from shipyard.cli import _common
from shipyard.cli.main import run
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from tests.contract.pipelines.suite import ROOT, _env

STEPS = "tests.unit.pipelines.steps"
PIPELINES = f'''
import shipyard

@shipyard.pipeline(partitioned="daily", schedule="0 3 * * *", timezone="Europe/Paris")
def nightly(p):
    """Emit, then add."""
    a = p.call("{STEPS}:emit", name="a", value=2)
    p.call("{STEPS}:add", name="b", after=[a], plus=1)
'''

Cli = Callable[..., str]


@pytest.fixture
def cli(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    width = _common.console.width
    _common.console.width = 200
    (project_dir / "shipyard.yaml").write_text(json.dumps({"jobs": {"modules": [STEPS]}}))

    def call(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        got = run(["-C", str(project_dir), *args])
        out, err = capsys.readouterr()
        assert got == code, (args, out, err)
        return out + err

    yield call
    _common.console.width = width


def _drain(project_dir: Path) -> None:
    with Platform.open(project_dir) as p:
        Worker(p, poll_interval=0.005, batch=8).run(idle_exit=0.3)


def test_plan_apply_run_runs_logs_backfill(cli: Cli, project_dir: Path) -> None:
    (project_dir / "pipelines.py").write_text(PIPELINES)
    assert "+ pipeline nightly" in cli("pipelines", "plan")
    assert "1 change(s) applied" in cli("pipelines", "apply")
    assert "0 change(s) to apply, 1 unchanged" in cli("pipelines", "plan")
    assert "nightly" in cli("pipelines", "list")
    shown = cli("pipelines", "show", "nightly")
    assert "schedule: 0 3 * * * Europe/Paris catchup=run-once" in shown
    assert "b: tests.unit.pipelines.steps:add" in shown and "after a" in shown
    started = json.loads(cli("pipelines", "run", "nightly", "--partition", "2026-01-05", "--json"))
    _drain(project_dir)
    assert "succeeded" in cli("pipelines", "runs", "nightly")
    logs = cli("pipelines", "logs", started["id"])
    assert "== a" in logs and "== b" in logs
    out = cli("pipelines", "backfill", "nightly", "--from", "2026-01-01", "--to", "2026-01-10")
    assert "10 run(s) queued" in out and "running: 10" in out
    _drain(project_dir)
    runs = json.loads(cli("pipelines", "runs", "nightly", "--json"))
    assert len(runs) == 11 and {r["state"] for r in runs} == {"succeeded"}
    assert "paused" in cli("pipelines", "pause", "nightly")
    assert "resumed" in cli("pipelines", "resume", "nightly")


def test_a_bad_definition_is_one_line_naming_the_place(cli: Cli, project_dir: Path) -> None:
    (project_dir / "pipelines.py").write_text(PIPELINES.replace("after=[a]", 'after=["nope"]'))
    out = cli("pipelines", "plan", code=1)
    assert out.strip() == (
        "error: pipeline 'nightly', step 'b': runs after unknown step 'nope'"
    ) or out.strip().endswith("pipeline 'nightly', step 'b': runs after unknown step 'nope'")
    assert len(out.strip().splitlines()) == 1
    (project_dir / "pipelines.py").write_text(PIPELINES.replace("0 3 * * *", "0 25 * * *"))
    out = cli("pipelines", "apply", code=1)
    assert "pipeline 'nightly', schedule: bad cron '0 25 * * *'" in out
    assert len(out.strip().splitlines()) == 1


def test_cancel_a_run(cli: Cli, project_dir: Path) -> None:
    (project_dir / "pipelines.py").write_text(PIPELINES)
    cli("pipelines", "apply")
    started = json.loads(cli("pipelines", "run", "nightly", "--json"))
    out = cli("pipelines", "cancel", started["id"])
    assert f"run {started['id']} of nightly: cancelled" in out
    assert "already ended" in cli("pipelines", "cancel", started["id"], code=1)


@pytest.mark.parametrize(
    "command", [["scheduler", "--interval", "0.1"], ["worker", "--scheduler"]], ids=str
)
def test_the_scheduler_starts_a_run_when_a_table_commits_and_stops_on_sigterm(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "shipyard.yaml").write_text(json.dumps({"jobs": {"modules": [STEPS]}}))
    rows = pd.DataFrame({"id": [1]})
    with Platform.open(tmp_path) as p:
        p.lake.write("gold.stats", rows, mode="overwrite")
        p.pipelines.apply(
            [
                {
                    "name": "retrain",
                    "steps": [{"name": "a", "function": f"{STEPS}:emit"}],
                    "triggers": {"tables": ["gold.stats"]},
                }
            ]
        )
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "-C", str(tmp_path), *command],
        env=_env(),
        cwd=ROOT,
    )
    try:
        with Platform.open(tmp_path) as p:
            deadline = time.monotonic() + 60

            def wait_for(found: Callable[[], object]) -> None:
                while not found():
                    assert time.monotonic() < deadline and proc.poll() is None
                    time.sleep(0.05)

            wait_for(lambda: _cursor(p))  # the scheduler has seen the table's version
            p.lake.write("gold.stats", rows, mode="append")
            wait_for(lambda: p.pipelines.list_runs("retrain").items)
            (started,) = p.pipelines.list_runs("retrain").items
            assert started.trigger == "table"
            if command[0] == "worker":  # the same process runs the step
                wait_for(lambda: p.pipelines.get_run(started.id).state.value == "succeeded")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def _cursor(p: Platform) -> bool:
    import sqlalchemy as sa

    from shipyard.pipelines.tables import pipeline_cursors

    with p.context.db.connect() as conn:
        return conn.execute(sa.select(pipeline_cursors)).first() is not None


def test_a_scheduler_killed_mid_catch_up_loses_and_doubles_no_tick(tmp_path: Path) -> None:
    """kill -9 while it fires hundreds of missed ticks: the next one fires the rest, once."""
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from shipyard.pipelines.tables import pipeline_cursors

    (tmp_path / "shipyard.yaml").write_text(json.dumps({"jobs": {"modules": [STEPS]}}))
    sched = {"cron": "* * * * *", "timezone": "UTC", "catchup": "all"}
    step = {"name": "a", "function": f"{STEPS}:emit"}
    with Platform.open(tmp_path) as p:
        p.pipelines.apply([{"name": "minutely", "steps": [step], "schedule": sched}])
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        start = now - timedelta(minutes=600)  # as if the scheduler was down for 10 hours
        with p.context.db.begin() as conn:
            conn.execute(
                pipeline_cursors.insert().values(
                    pipeline="minutely", source="cron", position=start.isoformat(), updated_at=now
                )
            )
    env = {**_env()}
    env["PYTHONPATH"] += os.pathsep + os.environ.get("PYTHONPATH", "")  # where cronsim is
    cmd = [sys.executable, "-m", "shipyard", "-C", str(tmp_path), "scheduler"]
    first = subprocess.Popen(cmd, env=env, cwd=ROOT)
    time.sleep(2.5)  # it starts, and is somewhere in its first (long) pass
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    second = subprocess.Popen([*cmd, "--interval", "0.2"], env=env, cwd=ROOT)
    try:
        with Platform.open(tmp_path) as p:
            deadline = time.monotonic() + 90
            while True:
                runs = p.pipelines.list_runs("minutely", limit=1000).items
                keys = [r.trigger_key for r in runs]
                if len(runs) >= 600:  # (a minute may pass meanwhile: one tick more)
                    break
                assert time.monotonic() < deadline and second.poll() is None, len(runs)
                time.sleep(0.2)
            assert len(keys) == len(set(keys))  # no tick twice
            due = {f"cron:{(start + timedelta(minutes=i)).isoformat()}" for i in range(1, 601)}
            assert due <= set(keys)  # none of the missed ticks lost
            with p.context.db.connect() as conn:  # one statement: one snapshot (ticks go on)
                extra = conn.execute(
                    sa.text(
                        "SELECT (SELECT count(*) FROM pipeline_ticks)"
                        " - (SELECT count(*) FROM pipeline_runs)"
                    )
                ).scalar()
            assert extra == 0  # every tick has its run
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)


def test_backfill_wait_shows_progress_until_every_run_ended(cli: Cli, project_dir: Path) -> None:
    import threading

    (project_dir / "pipelines.py").write_text(PIPELINES)
    cli("pipelines", "apply")
    with Platform.open(project_dir) as p:
        worker = Worker(p, poll_interval=0.005, batch=8)
        thread = threading.Thread(target=worker.run, kwargs={"idle_exit": 30})
        thread.start()
        try:
            out = cli(
                "pipelines",
                "backfill",
                "nightly",
                "--from",
                "2026-02-01",
                "--to",
                "2026-02-03",
                "--wait",
            )
        finally:
            worker.drain()
            thread.join()
    assert "3 run(s) queued" in out and "succeeded: 3" in out
    assert "backfill: 3/3 runs" in out  # the progress (on stderr), to the end


def test_jobs_prune_dry_run_then_for_real(cli: Cli, project_dir: Path) -> None:
    from datetime import timedelta

    from shipyard._internal.clock import utcnow
    from shipyard.pipelines.tables import jobs

    with Platform.open(project_dir) as p:
        job = p.jobs.submit(f"{STEPS}:emit", executor="inprocess")
        with p.context.db.begin() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job.id)
                .values(state="failed", finished_at=utcnow() - timedelta(days=10))
            )
    assert "would delete 0 job(s)" in cli("jobs", "prune", "--dry-run")  # 30 days by default
    out = cli("jobs", "prune", "--older-than", "7", "--dry-run", "--json")
    assert json.loads(out)["jobs"] == 1
    assert "deleted 1 job(s) (0 periodic)" in cli("jobs", "prune", "--older-than", "7")
    assert f"no job {job.id}" in cli("jobs", "show", job.id, code=1)
    err = cli("jobs", "prune", "--older-than", "0", code=1)
    assert "older_than_days" in err and "Traceback" not in err
