"""The quotas contract: one suite, run unchanged on every metadata database.

Subclasses provide ``catalog_url``. It covers what ``quotas/store.py`` keeps and
what the service decides: admins set and lift caps, others see only their own,
each capped resource is refused at its cap with ``QuotaExceeded`` (the limit hit,
``retry_after``), and refusals are audited once per window.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied, QuotaExceeded
from shipyard.features import Entity, Feature, FeatureView
from shipyard.platform import Platform
from shipyard.quotas.models import QuotaResource
from shipyard.serving.models import Variant
from tests.contract.remote import Skin, Skins

ECHO = "shipyard.pipelines.builtin:echo"


class QuotaContract(Skins):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": catalog_url}, quotas={"cache_seconds": 0})
        yield skin(p)
        p.close()

    def _as(self, plat: Platform, name: str, team: str = "ml", role: str = "editor") -> Platform:
        made = plat.security.create_principal(name, team=team, role=role)
        return plat.as_principal(made)

    def test_admins_set_replace_list_and_lift_quotas(self, plat: Platform) -> None:
        q = plat.quotas
        made = q.set_quota("team", "ml", "concurrent_jobs", 3)
        assert (made.limit, made.updated_by) == (3, "local-admin")
        assert q.set_quota("team", "ml", "concurrent_jobs", 5).limit == 5  # replaced
        q.set_quota("principal", "vera", "requests_per_second", 10)
        got = {s.quota.key: s.quota.limit for s in q.list_quotas().items}
        assert got == {
            ("team", "ml", "concurrent_jobs"): 5,
            ("principal", "vera", "requests_per_second"): 10,
        }
        assert [s.quota.subject for s in q.list_quotas(scope="principal").items] == ["vera"]
        assert q.delete_quota("team", "ml", "concurrent_jobs").limit == 5
        with pytest.raises(NotFound):
            q.delete_quota("team", "ml", "concurrent_jobs")
        assert [s.quota.subject for s in q.list_quotas().items] == ["vera"]

    def test_bad_quotas_are_refused(self, plat: Platform) -> None:
        q = plat.quotas
        for args in (
            ("tenant", "ml", "deployments", 1),
            ("team", "ml", "tpus", 1),
            ("team", "ml", "deployments", -1),
            ("team", "ml", "cpus", 0.5),
            ("team", "m l;--", "deployments", 1),
            ("team", "ml", "deployments", 1.5),
        ):
            with pytest.raises(InvalidArgument):
                q.set_quota(*args)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            q.list_quotas(resource="tpus")

    def test_only_admins_change_quotas_and_others_see_their_own(self, plat: Platform) -> None:
        plat.quotas.set_quota("team", "ml", "deployments", 2)
        plat.quotas.set_quota("team", "risk", "deployments", 2)
        ml_admin = self._as(plat, "ada", role="admin")  # admin of ml only: not of every team
        with pytest.raises(PermissionDenied):
            ml_admin.quotas.set_quota("team", "ml", "deployments", 100)
        with pytest.raises(PermissionDenied):
            ml_admin.quotas.delete_quota("team", "ml", "deployments")
        for resource in ("cpus", "gpus"):  # nor its team's training compute (ADR 0047)
            with pytest.raises(PermissionDenied):
                ml_admin.quotas.set_quota("team", "ml", resource, 64)
        seen = [s.quota.subject for s in ml_admin.quotas.list_quotas().items]
        assert seen == ["ml"]
        denied = plat.audit.list_records(action="quotas.set", outcome="denied").items
        assert {r.principal for r in denied} == {"ada"}

    def test_list_pages(self, plat: Platform) -> None:
        for i in range(5):
            plat.quotas.set_quota("team", f"t{i}", "deployments", i)
        first = plat.quotas.list_quotas(limit=2)
        second = plat.quotas.list_quotas(limit=2, page_token=first.next_page_token)
        assert [s.quota.subject for s in first.items + second.items] == ["t0", "t1", "t2", "t3"]
        with pytest.raises(InvalidArgument):
            plat.quotas.list_quotas(limit=2, page_token="garbage")

    def test_concurrent_jobs_are_capped_per_team_and_per_principal(self, plat: Platform) -> None:
        plat.quotas.set_quota("team", "ml", "concurrent_jobs", 2)
        vera = self._as(plat, "vera")
        vera.jobs.submit(ECHO, team="ml")
        vera.jobs.submit(ECHO, team="ml")
        with pytest.raises(QuotaExceeded) as refused:
            vera.jobs.submit(ECHO, team="ml")
        d = refused.value.details
        assert (d["resource"], d["scope"], d["subject"], d["limit"]) == (
            "concurrent_jobs", "team", "ml", 2,
        )  # fmt: skip
        assert d["retry_after"] >= 1 and d["used"] == 2
        with pytest.raises(QuotaExceeded):  # a batch that would pass the cap
            plat.jobs.submit_many([{"target": ECHO, "team": "ml"}])
        plat.jobs.submit(ECHO, team="other")  # other teams are not capped
        plat.quotas.set_quota("principal", "local-admin", "concurrent_jobs", 1)
        with pytest.raises(QuotaExceeded, match="principal 'local-admin'"):
            plat.jobs.submit(ECHO, team="other")
        job = vera.jobs.list(team="ml").items[0]
        vera.jobs.cancel(job.id)  # an ended job frees its slot
        vera.jobs.submit(ECHO, team="ml")

    def test_a_caller_without_rights_is_told_so_not_the_quota(self, plat: Platform) -> None:
        plat.quotas.set_quota("team", "ml", "concurrent_jobs", 0)
        outsider = self._as(plat, "olga", team="risk")
        with pytest.raises(PermissionDenied):
            outsider.jobs.submit(ECHO, team="ml")

    def test_deployments_are_capped(self, plat: Platform) -> None:
        plat.quotas.set_quota("team", "ml", "deployments", 0)
        with pytest.raises(QuotaExceeded, match="deployments of team 'ml' is 0"):
            plat.serving.create_deployment(
                "d1", variants=[Variant(name="a", model="m/1")], owner="ml"
            )

    def test_storage_is_capped_once_reached(self, plat: Platform) -> None:
        frame = pd.DataFrame({"a": range(100)})
        plat.lake.write("bronze.events", frame, owner="ml")
        used = plat.quotas.list_quotas(with_usage=True).items  # no quota yet: nothing listed
        assert used == []
        size = plat.lake.get_table("bronze.events").size_bytes
        plat.quotas.set_quota("team", "ml", "storage_bytes", size + 1)
        status = plat.quotas.list_quotas(with_usage=True).items[0]
        assert status.used == size
        more = pd.DataFrame({"a": range(100, 200)})  # (bronze skips a batch it has seen)
        plat.lake.write("bronze.events", more)  # under the cap: allowed (and now over it)
        with pytest.raises(QuotaExceeded, match="storage_bytes"):
            plat.lake.write("bronze.events", pd.DataFrame({"a": [1]}))
        plat.lake.write("bronze.other", frame, owner="risk")

    def test_online_rows_are_capped_once_reached(self, plat: Platform) -> None:
        rows = pd.DataFrame(
            {
                "customer_id": [1, 2, 3],
                "x": [0.1, 0.2, 0.3],
                "event_ts": [datetime(2026, 1, d) for d in (1, 2, 3)],
            }
        )
        plat.lake.write("silver.clean", rows, owner="ml")
        view = FeatureView(
            name="v",
            entities=["customer"],
            source="silver.clean",
            timestamp_field="event_ts",
            features=[Feature("x", "float64")],
            owner="ml",
            online=True,
        )
        plat.features.apply([Entity(name="customer", join_keys=["customer_id"], owner="ml"), view])
        plat.quotas.set_quota("team", "ml", "online_rows", 3)
        plat.features.materialize(["v"])  # 0 rows before: allowed
        assert plat.quotas.list_quotas(with_usage=True).items[0].used == 3
        with pytest.raises(QuotaExceeded, match="online_rows of team 'ml' is 3"):
            plat.features.materialize(["v"])

    def test_refusals_are_audited_once_per_window(self, plat: Platform) -> None:
        plat.quotas.set_quota("team", "ml", "concurrent_jobs", 0)
        for _ in range(5):
            with pytest.raises(QuotaExceeded):
                plat.jobs.submit(ECHO, team="ml")
        records = plat.audit.list_records(action="quotas.refused").items
        assert len(records) == 1
        r = records[0]
        assert (r.outcome, r.asset, r.team) == ("denied", "quota:team/ml/concurrent_jobs", "ml")
        assert r.details["limit"] == 0 and r.details["suppressed"] == 0
        # The next window's record says how many refusals it stands for.
        gate = plat.quota_gate
        gate.refusals.window = gate.refusals.window * 0
        with pytest.raises(QuotaExceeded):
            plat.jobs.submit(ECHO, team="ml")
        latest = plat.audit.list_records(action="quotas.refused").items[0]
        assert latest.details["suppressed"] == 4

    def test_enforce_costs_nothing_without_a_quota(self, plat: Platform) -> None:
        plat.quotas.enforce(QuotaResource.DEPLOYMENTS, "ml", action="test")  # no cap: no error
