"""Training through ``shipyard.connect``: the remote client against a live server."""

from __future__ import annotations

import pytest

import shipyard
from shipyard.errors import InvalidArgument, NotFound
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from tests.servers import live_server

F = "tests.unit.training.funcs"


def test_jobs_and_a_search_over_the_remote_client(platform: Platform) -> None:
    p = platform
    token = p.security.create_token().token
    with live_server(p) as url, shipyard.connect(url, token) as client:
        remote = client.training
        job = remote.submit(
            f"{F}:quadratic", params={"x": 1.0}, resources={"cpus": 1}, backend="inprocess"
        )
        doomed = remote.submit(f"{F}:explode", backend="inprocess")
        assert remote.cancel(doomed.id).state == "cancelled"
        Worker(p, pools=["training"], poll_interval=0.005).run(idle_exit=0.3)
        done = remote.get(job.id)
        assert done.state == "succeeded" and done.metrics == {"loss": 1.0}
        assert p.tracking.get_run(done.run_id).params["x"] == "1.0"
        assert {j.id for j in remote.list(state="succeeded").items} == {job.id}
        assert isinstance(remote.logs(job.id), str)
        study = remote.tune(
            f"{F}:quadratic", {"x": {"type": "float", "low": -4, "high": 4}}, n_trials=1,
            metric="loss", direction="minimize", pruner="none", study_name="over-http",
        )  # fmt: skip
        assert study.complete == 1 and study.best is not None
        assert remote.get_study("over-http").best == study.best
        with pytest.raises(InvalidArgument, match="low"):
            remote.tune(f"{F}:quadratic", {"x": {"type": "float", "low": 1, "high": 0}})
        with pytest.raises(NotFound):
            remote.get_study("nope")
