"""The usage contract: metering and chargeback, run unchanged on every metadata database.

Subclasses provide ``catalog_url``. Workers record each job's CPU-seconds and peak
memory; ``meter`` writes one hour of ``datasets.usage`` (once); ``report`` sums a
month per team/principal/resource/kind and prices it, idle capacity on its own line.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.platform import Platform
from shipyard.usage.models import USAGE_TABLE, JobUsage
from shipyard.usage.tables import usage_records
from tests.contract.remote import Skin, Skins

FUNCS = "tests.contract.usage.funcs"
ROOT = Path(__file__).resolve().parents[3]
PRICES = {"cpu_seconds": 0.01, "stored_bytes": 1e-6, "requests": 0.5}


def _last_hour() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)


class UsageContract(Skins):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(
            tmp_path,
            catalog={"url": catalog_url},
            jobs={"modules": [FUNCS]},
            usage={"prices": PRICES, "capacity_cores": 2},
        )
        yield skin(p)
        p.close()

    def _into_last_hour(self, plat: Platform) -> None:
        """Move what workers recorded just now into the last complete hour (meterable)."""
        with plat.context.db.begin() as conn:
            conn.execute(usage_records.update().values(ts=_last_hour() + timedelta(minutes=30)))

    @pytest.mark.in_process_only  # a live server in this process would count as its CPU
    def test_metered_cpu_adds_up_to_the_process_accounting(self, plat: Platform) -> None:
        for _ in range(4):
            plat.jobs.submit(
                f"{FUNCS}:burn", {"cpu_seconds": 0.25}, team="ml", executor="inprocess"
            )
        worker = plat.worker(pools=["default"])  # building it is not the jobs' CPU
        before = resource.getrusage(resource.RUSAGE_SELF)
        worker.run(max_jobs=4)
        after = resource.getrusage(resource.RUSAGE_SELF)
        process = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        with plat.context.db.connect() as conn:
            rows = conn.execute(sa.select(usage_records)).all()
        metered = sum(r.cpu_seconds for r in rows)
        assert len(rows) == 4 and {r.team for r in rows} == {"ml"}
        assert {(r.kind, r.resource, r.principal) for r in rows} == {
            ("job", f"job:{FUNCS}:burn", "local-admin")
        }
        assert all(r.peak_memory_bytes > 10 * 2**20 for r in rows)
        assert abs(metered - process) / process < 0.05, (metered, process)

    @pytest.mark.in_process_only
    def test_subprocess_jobs_are_metered_from_the_child(
        self, plat: Platform, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PYTHONPATH", f"{ROOT / 'src'}{os.pathsep}{ROOT}")
        plat.jobs.submit(f"{FUNCS}:burn", {"cpu_seconds": 0.3}, team="ml")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        plat.worker(pools=["default"]).run(max_jobs=1)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        children = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        with plat.context.db.connect() as conn:
            (row,) = conn.execute(sa.select(usage_records)).all()
        assert row.cpu_seconds >= 0.3
        assert abs(row.cpu_seconds - children) / children < 0.05, (row.cpu_seconds, children)

    def test_meter_writes_one_row_per_team_principal_resource_and_hour(
        self, plat: Platform
    ) -> None:
        plat.lake.write("bronze.events", pd.DataFrame({"a": range(50)}), owner="ml")
        exp = plat.tracking.create_experiment("e", owner="ml")
        plat.backends.artifacts.get().put_bytes(b"x" * 1000, f"{exp.id}/r/artifacts/a.bin")
        plat.usage.record_jobs(
            [
                JobUsage(
                    team="ml",
                    principal="vera",
                    resource="job:a",
                    cpu_seconds=2,
                    peak_memory_bytes=100,
                ),
                JobUsage(
                    team="ml",
                    principal="vera",
                    resource="job:a",
                    cpu_seconds=3,
                    peak_memory_bytes=300,
                ),
                JobUsage(
                    team="risk",
                    principal="rob",
                    resource="job:b",
                    cpu_seconds=1,
                    peak_memory_bytes=50,
                ),
            ]
        )
        self._into_last_hour(plat)
        out = plat.usage.meter()
        assert (out.hour, out.cpu_seconds, out.skipped) == (_last_hour(), 6.0, False)
        assert out.idle_cpu_seconds == 2 * 3600 - 6
        got = {
            (r["team"], r["principal"], r["kind"], r["resource"]): r
            for r in plat.lake.sql(f"SELECT * FROM {USAGE_TABLE}").to_pylist()
        }
        job_a = got[("ml", "vera", "job", "job:a")]
        assert (job_a["cpu_seconds"], job_a["peak_memory_bytes"], job_a["requests"]) == (5, 300, 2)
        assert got[("ml", "local-admin", "table", "table:bronze.events")]["stored_bytes"] > 0
        assert got[("ml", "-", "artifacts", f"artifacts:{exp.id}")]["stored_bytes"] == 1000
        assert got[("-", "-", "idle", "idle")]["cpu_seconds"] == 2 * 3600 - 6
        assert {r["hour"] for r in got.values()} == {_last_hour()}
        # Artifact bytes now count towards ml's storage quota.
        plat.quotas.set_quota("team", "ml", "storage_bytes", 10**9)
        used = plat.quotas.list_quotas(with_usage=True).items[0].used
        assert used == 1000 + plat.lake.get_table("bronze.events").size_bytes

    def test_an_hour_is_metered_once(self, plat: Platform) -> None:
        first = plat.usage.meter()
        again = plat.usage.meter()
        assert not first.skipped and again.skipped and again.rows == 0
        rows = plat.lake.sql(f"SELECT count(*) AS n FROM {USAGE_TABLE}").to_pylist()
        assert rows[0]["n"] == first.rows
        with pytest.raises(InvalidArgument, match="has not ended"):
            plat.usage.meter(datetime.now(UTC))

    @pytest.mark.in_process_only
    def test_a_pipeline_step_meters_the_last_hour(self, plat: Platform) -> None:
        from shipyard.pipelines.actions import check_args
        from shipyard.step_actions import RUNNERS

        check_args("usage.meter", {})
        first = RUNNERS["usage.meter"](plat)
        assert first["hour"] == _last_hour().isoformat().replace("+00:00", "Z")
        assert RUNNERS["usage.meter"](plat, hour=_last_hour().isoformat())["skipped"] is True

    def test_report_prices_usage_and_shows_idle_capacity_on_its_own_line(
        self, plat: Platform
    ) -> None:
        plat.usage.record_jobs(
            [
                JobUsage(
                    team="ml",
                    principal="vera",
                    resource="job:a",
                    cpu_seconds=100,
                    peak_memory_bytes=1,
                )
            ]
        )
        self._into_last_hour(plat)
        plat.usage.meter()
        month = _last_hour().strftime("%Y-%m")
        rep = plat.usage.report(by="team", month=month)
        lines = {x.key: x for x in rep.lines}
        assert set(lines) == {"ml", "-"} and rep.lines[-1].key == "-"  # idle last
        assert lines["ml"].cpu_seconds == 100
        assert lines["ml"].cost == pytest.approx(100 * 0.01 + 1 * 0.5)
        assert lines["-"].cpu_seconds == 2 * 3600 - 100
        assert rep.total_cost == pytest.approx(sum(x.cost for x in rep.lines))
        assert (rep.currency, rep.hours) == ("USD", 1)
        by_kind = {x.key for x in plat.usage.report(by="kind", month=month).lines}
        assert {"job", "idle"} <= by_kind
        empty = plat.usage.report(month="2001-01")
        assert (empty.lines, empty.total_cost) == ([], 0)

    def test_a_team_sees_only_its_own_usage(self, plat: Platform) -> None:
        plat.usage.record_jobs(
            [
                JobUsage(
                    team="ml", principal="a", resource="job:a", cpu_seconds=1, peak_memory_bytes=1
                ),
                JobUsage(
                    team="risk", principal="b", resource="job:b", cpu_seconds=1, peak_memory_bytes=1
                ),
            ]
        )
        self._into_last_hour(plat)
        plat.usage.meter()
        vera = plat.as_principal(plat.security.create_principal("vera", team="ml", role="viewer"))
        month = _last_hour().strftime("%Y-%m")
        assert [x.key for x in vera.usage.report(month=month).lines] == ["ml"]
        with pytest.raises(PermissionDenied):
            vera.usage.report(month=month, team="risk")
        with pytest.raises(PermissionDenied):
            vera.usage.meter()
        with pytest.raises(PermissionDenied):  # the table itself is the platform's
            vera.lake.sql(f"SELECT * FROM {USAGE_TABLE}")

    def test_bad_reports_are_refused(self, plat: Platform) -> None:
        for kwargs in ({"by": "colour"}, {"month": "2026-13"}, {"month": "26-01"}):
            with pytest.raises(InvalidArgument):
                plat.usage.report(**kwargs)  # type: ignore[arg-type]
