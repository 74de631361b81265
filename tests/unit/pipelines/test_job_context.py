"""A job's own context: whom its platform calls act as, and only its own output captured."""

from __future__ import annotations

import io
import logging
import threading

import pytest

from shipyard.errors import InvalidArgument
from shipyard.pipelines.capture import captured
from shipyard.platform import Platform
from shipyard.step_actions import job_platform
from tests.unit.pipelines.conftest import STEPS, drain


def test_a_step_acts_as_whoever_started_the_run_not_as_an_argument_says(pp: Platform) -> None:
    alice = pp.security.create_principal("alice", kind="user", role="editor")
    as_alice = pp.as_principal(alice)
    pp.pipelines.apply([{"name": "p", "steps": [{"name": "w", "function": f"{STEPS}:whoami"}]}])
    run = as_alice.pipelines.run("p")
    submitted = as_alice.jobs.submit(f"{STEPS}:whoami", {}, executor="inprocess")
    drain(pp)
    step_job = pp.jobs.get(pp.pipelines.get_run(run.id).steps["w"]["job"])
    assert step_job.result == {"acting": "alice", "job": step_job.id, "team": step_job.team}
    assert pp.jobs.get(submitted.id).result["acting"] == "alice"


def test_job_platform_outside_a_job_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="inside a job"):
        job_platform()


def test_a_job_captures_its_own_threads_output_only(capsys: pytest.CaptureFixture[str]) -> None:
    def other_thread() -> None:
        print("printed by another thread")
        logging.getLogger("other").warning("logged by another thread")

    buf = io.StringIO()
    with captured(buf):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        print("printed by the job")
        logging.getLogger("job").warning("logged by the job")
    print("after the job")
    logs, out = buf.getvalue(), capsys.readouterr()
    assert "printed by the job" in logs and "logged by the job" in logs
    assert "another thread" not in logs and "after the job" not in logs
    assert "printed by another thread" in out.out and "after the job" in out.out


def test_a_nan_result_is_stored_as_null() -> None:
    from shipyard.pipelines.executors import _json_safe

    assert _json_safe({"auc": float("nan"), "x": [float("inf"), 1.5]}) == {
        "auc": None,
        "x": [None, 1.5],
    }


def test_what_a_child_sends_back_of_its_access_is_read_tolerantly() -> None:
    """A child's or a Ray task's ``access`` answer: absent (an older child) is None,
    anything not a list of strings is dropped, duplicates are merged."""
    from shipyard.pipelines.run_lineage import StepAccess

    assert StepAccess.from_json(None) is None and StepAccess.from_json([1]) is None
    sent = StepAccess()
    sent.wrote("lake.write", ["table:a", "table:a"])
    sent.read("lake.sql", ["table:b"])
    back = StepAccess.from_json({**sent.to_json(), "read": ["table:b", 3, None], "x": 1})
    assert back is not None and back.to_json() == {"wrote": ["table:a"], "read": ["table:b"]}
    assert StepAccess.from_json({"wrote": "table:a"}) is not None  # not a list: nothing
    mine = StepAccess(read_refs=["table:b"])
    mine.update(back)
    assert mine.to_json() == {"wrote": ["table:a"], "read": ["table:b"]}
