"""A long operation queued as a job (``submit_action``, what its route's 202 is) counts
against the team's ``concurrent_jobs`` quota like any other job."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import QuotaExceeded
from shipyard.platform import Platform


def test_submit_action_is_refused_at_the_concurrent_jobs_cap(tmp_path: Path) -> None:
    with Platform.open(tmp_path, quotas={"cache_seconds": 0}) as p:
        team = p.context.default_team
        p.quotas.set_quota("team", team, "concurrent_jobs", 1)
        job = p.jobs.submit_action("lake.refresh_all", {"full": False})
        assert job.team == team
        with pytest.raises(QuotaExceeded):
            p.jobs.submit_action("lake.refresh_all", {})
        assert len(p.jobs.list(team=team).items) == 1  # nothing queued past the cap
