"""Lake writes and their catalog/audit record reconcile; retries with a batch id are no-ops.

A write commits to Delta, then records the catalog version and the audit record.
A crash or a locked catalog between the two used to leave a Delta version nobody
had recorded or audited, and a client retry duplicated the data.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipyard.errors import BackendUnavailable, PermissionDenied
from shipyard.lake._base import LakeBase
from shipyard.lake.storage import DeltaStorage
from shipyard.platform import Platform

ROWS = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]


def _delta_version(p: Platform, name: str) -> int:
    return int(p.lake.storage.open(name).version())


def _recovered(p: Platform, name: str) -> list[dict[str, object]]:
    items = p.audit.list_records(action="lake.write.recovered").items
    return [r.details for r in items if (r.asset or "").startswith(f"table:{name}@")]


def _crash_after_delta(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_a: object, **_k: object) -> None:
        raise RuntimeError("power cut after the Delta commit")

    monkeypatch.setattr("shipyard.lake.records.record", crash)


def test_a_write_that_dies_before_the_catalog_is_recorded_on_reopen(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Platform.open(project_dir) as p:
        p.lake.write("silver.orders", ROWS)
        with monkeypatch.context() as m:
            _crash_after_delta(m)
            with pytest.raises(RuntimeError):
                p.lake.write("silver.orders", [{"id": 3, "v": "c"}], batch_id="b-3")
        assert p.lake.get_table("silver.orders").version == 0  # the catalog missed v1
    with Platform.open(project_dir) as again:
        info = again.lake.get_table("silver.orders")
        assert info.version == _delta_version(again, "silver.orders") == 1
        assert info.num_rows == 3
        asset = again.catalog.get_asset("table:silver.orders")
        assert asset.properties["recovered"] == {
            "version": 1,
            "action": "lake.write",
            "batch_id": "b-3",
        }
        [details] = _recovered(again, "silver.orders")
        assert details["versions"] == [1] and details["batch_id"] == "b-3"
        record = again.audit.list_records(action="lake.write.recovered").items[0]
        assert record.principal == "local-admin" and record.outcome == "ok"
        assert again.audit.verify().ok
    with Platform.open(project_dir) as third:  # recorded once, not on every open
        assert len(_recovered(third, "silver.orders")) == 1


_KILLED_WRITER = """
import os, sys
from shipyard.lake import records
from shipyard.platform import Platform

def die(*a, **k):
    os._exit(9)  # the process dies between the Delta commit and the catalog transaction

p = Platform.open(sys.argv[1])
records.record = die
p.lake.write("gold.totals", [{"k": "x", "n": 1}], batch_id="gold-1")
"""


def test_a_writer_killed_between_delta_and_catalog_is_recovered(project_dir: Path) -> None:
    Platform.open(project_dir).close()
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(project_dir)], timeout=120)
    assert done.returncode == 9
    with Platform.open(project_dir) as p:
        info = p.lake.get_table("gold.totals")  # a table the catalog had never seen
        assert (info.version, info.num_rows, info.owner) == (0, 1, "default")
        assert _recovered(p, "gold.totals")[0]["versions"] == [0]


def test_a_write_in_flight_is_not_taken_for_a_crash(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Platform.open(project_dir) as p:
        seen: list[object] = []
        real = LakeBase._recording

        def peek(self: LakeBase, *a: object, **k: object):  # type: ignore[no-untyped-def]
            seen.append(self.pending.orphans())  # another process looking right now
            return real(self, *a, **k)  # type: ignore[arg-type]

        monkeypatch.setattr(LakeBase, "_recording", peek)
        p.lake.write("silver.orders", ROWS)
        assert seen == [[]]
        assert _recovered(p, "silver.orders") == []
        assert list((p.settings.home_dir / "lake-pending").iterdir()) == []


def test_opening_the_lake_reads_no_table_when_nothing_is_pending(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Platform.open(project_dir) as p:
        for i in range(5):
            p.lake.write(f"silver.t{i}", ROWS)
    opened: list[str] = []
    real = DeltaStorage.find

    def counting(self: DeltaStorage, name: str):  # type: ignore[no-untyped-def]
        opened.append(name)
        return real(self, name)

    monkeypatch.setattr(DeltaStorage, "find", counting)
    started = time.perf_counter()
    with Platform.open(project_dir) as p:
        p.lake.get_table("silver.t0")
    assert opened == []
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("name", "mode"), [("silver.orders", "append"), ("gold.summary", "overwrite")]
)
def test_a_retry_with_the_same_batch_id_writes_once_and_names_the_first_version(
    platform: Platform, name: str, mode: str
) -> None:
    first = platform.lake.write(name, ROWS, mode, batch_id="batch-1")  # type: ignore[arg-type]
    platform.lake.write(name, [{"id": 9, "v": "z"}], "append", batch_id="other")
    again = platform.lake.write(name, ROWS, mode, batch_id="batch-1")  # type: ignore[arg-type]
    assert again.version == first.version + 1  # nothing new was committed
    assert platform.lake.read(name).num_rows == 3
    records = platform.audit.list_records(action="lake.write").items
    assert records[0].details["skipped"] is True and records[0].details["batch_id"] == "batch-1"
    assert records[0].asset == f"table:{name}@{first.version}"  # the version it landed in


def test_a_change_feed_retried_with_its_batch_id_is_a_no_op(platform: Platform) -> None:
    feed = [{"id": 1, "seq": 1, "op": "UPSERT", "v": "a"}, {"id": 2, "seq": 1, "op": "UPSERT"}]
    first = platform.lake.apply_changes(
        "silver.cust", feed, keys=["id"], sequence_by="seq", batch_id="feed-1"
    )
    again = platform.lake.apply_changes(
        "silver.cust", feed, keys=["id"], sequence_by="seq", batch_id="feed-1"
    )
    assert first.inserted == 2
    assert (again.version, again.inserted, again.ignored) == (first.version, 0, 2)
    assert _delta_version(platform, "silver.cust") == first.version  # no empty MERGE commit


def test_locked_catalog_fails_fast_then_a_retry_leaves_one_copy_recorded_and_audited(
    project_dir: Path,
) -> None:
    with Platform.open(project_dir, lake={"catalog_wait": 0.5}) as p:
        p.lake.write("silver.orders", ROWS, batch_id="b-1")
        locker = sqlite3.connect(p.settings.home_dir / "catalog.db", isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # another process holds the catalog's write lock
        started = time.perf_counter()
        try:
            with pytest.raises(BackendUnavailable, match="committed in the lake"):
                p.lake.write("silver.orders", [{"id": 3, "v": "c"}], batch_id="b-2")
            elapsed = time.perf_counter() - started
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert elapsed < 5, elapsed  # was the busy timeout twice: 61 s
        assert _delta_version(p, "silver.orders") == 1  # Delta has it, the catalog not yet
        retry = p.lake.write("silver.orders", [{"id": 3, "v": "c"}], batch_id="b-2")
        assert retry.version == 1 and retry.num_rows == 3
        assert p.lake.read("silver.orders").num_rows == 3  # exactly one copy
        assert _recovered(p, "silver.orders")[0]["batch_id"] == "b-2"
        last = p.audit.list_records(action="lake.write").items[0]
        assert last.details["skipped"] is True and last.asset == "table:silver.orders@1"
        assert p.audit.verify().ok


def test_reconcile_all_finds_a_table_behind_without_a_marker(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deltalake import write_deltalake

    from shipyard.cli.main import run

    with Platform.open(project_dir) as p:
        p.lake.write("silver.orders", ROWS)
        # A write that crashed on another host: committed there, no marker here.
        write_deltalake(
            p.lake.storage.uri("silver.orders"), p.lake.read("silver.orders"), mode="append"
        )
    assert run(["-C", str(project_dir), "lake", "reconcile"]) == 0
    assert "every lake commit" in capsys.readouterr().out
    assert run(["-C", str(project_dir), "lake", "reconcile", "--all"]) == 0
    assert "silver.orders: recorded version(s) [1]" in capsys.readouterr().out
    with Platform.open(project_dir) as p:
        assert p.lake.get_table("silver.orders").num_rows == 4
        viewer = p.security.create_principal("vera", role="viewer")
        with pytest.raises(PermissionDenied):
            p.as_principal(viewer).lake.reconcile(all_tables=True)


def test_an_http_write_retried_with_its_batch_id_lands_once(platform: Platform) -> None:
    from starlette.testclient import TestClient

    from shipyard.api.app import create_app

    token = platform.security.create_token(name="t").token
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(platform)) as client:
        for _ in range(2):
            r = client.post(
                "/api/v1/lake/tables/gold.kpis/rows",
                json={"records": ROWS, "batch_id": "http-1"},
                headers=headers,
            )
            assert r.status_code == 200 and r.json()["version"] == 0, r.text
    assert platform.lake.read("gold.kpis").num_rows == 2
