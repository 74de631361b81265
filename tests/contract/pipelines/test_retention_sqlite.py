from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.pipelines import retention
from tests.contract.pipelines.retention_suite import DAY, RetentionContract, World


class TestSqliteRetention(RetentionContract):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'catalog.db'}"

    def test_dry_run_counts_the_same_and_deletes_nothing(self, w: World) -> None:
        gone, _ = self._history(w)
        w.run("succeeded", 40 * DAY, {"a": "succeeded"})
        w.tick("cron:old", 40 * DAY)
        before = (w.jobs(), w.runs(), w.ticks())
        dry = w.p.jobs.prune(dry_run=True)
        assert (w.jobs(), w.runs(), w.ticks()) == before
        real = w.p.jobs.prune()
        fields = ("jobs", "periodic_jobs", "runs", "step_jobs", "ticks")
        assert [getattr(dry, f) for f in fields] == [getattr(real, f) for f in fields]
        assert dry.dry_run and not real.dry_run and real.jobs == len(gone)

    def test_older_than_overrides_retention_and_zero_keeps_forever(self, w: World) -> None:
        week = w.job("failed", 8 * DAY)
        assert w.p.jobs.prune().jobs == 0
        assert w.p.jobs.prune(older_than_days=7).jobs == 1 and week not in w.jobs()
        for bad in (0, -1, 40_000):
            with pytest.raises(InvalidArgument):
                w.p.jobs.prune(older_than_days=bad)
        old = w.job("succeeded", 400 * DAY, kind="canary")
        assert retention.cutoffs(0, 0) == (None, None)  # retention off: nothing is looked at
        off = retention.prune(w.p.context.db, before=None, periodic_before=None, periodic_kinds=[])
        assert off.jobs == 0 and old in w.jobs()

    def test_only_an_admin_of_every_team_prunes_and_it_is_audited(self, w: World) -> None:
        w.job("succeeded", 40 * DAY)
        w.p.security.create_principal("ml_admin", team="ml", role="admin")
        with pytest.raises(PermissionDenied):
            w.p.as_principal(w.p.security.get_principal("ml_admin")).jobs.prune()
        assert len(w.jobs()) == 1
        w.p.jobs.prune()
        records = w.p.audit.list_records(action="jobs.prune").items
        outcomes = sorted((r.principal, r.outcome) for r in records)
        assert outcomes == [("local-admin", "ok"), ("ml_admin", "denied")]
        ok = next(r for r in records if r.outcome == "ok")
        assert ok.details["jobs"] == 1
