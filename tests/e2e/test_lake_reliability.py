"""Lake reliability with real processes: concurrent writers, and kill -9 then rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shipyard.lake import Expectation, TableDefinition
from shipyard.platform import Platform

pytestmark = pytest.mark.slow

WRITER = """
import sys
from shipyard.platform import Platform
project, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Platform.open(project) as p:
    for i in range(n):
        rows = [{"writer": tag, "seq": i, "k": j} for j in range(100)]
        p.lake.write("bronze.events", rows, batch_id=f"{tag}-{i}")
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}


def _spawn(code: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_two_processes_appending_lose_nothing(project_dir: Path) -> None:
    Platform.open(project_dir).close()
    procs = [_spawn(WRITER, str(project_dir), tag, "8") for tag in ("a", "b")]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out.decode()
    with Platform.open(project_dir) as p:
        counts = p.lake.sql(
            "SELECT writer, count(*) AS n, count(DISTINCT seq) AS batches "
            "FROM bronze.events GROUP BY 1 ORDER BY 1"
        ).to_pylist()
        assert counts == [
            {"writer": "a", "n": 800, "batches": 8},
            {"writer": "b", "n": 800, "batches": 8},
        ]
        info = p.lake.get_table("bronze.events")
        assert info.version == 15 and info.num_rows == 1600
        assert len(p.lake.history("bronze.events")) == 16


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(
                f"worker exited early: {proc.stdout.read().decode() if proc.stdout else ''}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("worker never reached the kill point")
        time.sleep(0.02)


# The worker stops at a chosen point (signals it with a file) and waits to be killed.
STOP_AT = """
import sys, time
from pathlib import Path
from shipyard.platform import Platform
project, csv_path, marker, where = sys.argv[1:5]

def stop(*a, **k):
    Path(marker).write_text("here")
    time.sleep(600)

if where == "mid-ingest":
    import shipyard.lake.ingest as ingest
    ingest.BLOCK_BYTES = 1 << 16  # several blocks, so the kill lands mid-stream
    original = ingest.FileParser.blocks
    def blocks(self):
        for i, b in enumerate(original(self)):
            yield b
            if i == 1:
                stop()
    ingest.FileParser.blocks = blocks
elif where == "before-catalog":
    import shipyard.lake.records as records
    records.record = stop
with Platform.open(project) as p:
    if where == "mid-refresh":
        real_write = p.lake.storage.write
        def write(name, *a, **k):
            if name == "silver.orders":
                stop()
            return real_write(name, *a, **k)
        p.lake.storage.write = write
        p.lake.refresh("silver.orders")
    else:
        p.lake.ingest("bronze.orders", csv_path)
"""


def _big_csv(path: Path, rows: int) -> None:
    lines = ["order_id,customer_id,amount"]
    lines += [f"{i},{i % 97},{(i % 50) - 1}.5" for i in range(rows)]
    lines.insert(10, "broken,line")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("where", ["mid-ingest", "before-catalog"])
def test_killed_ingest_then_rerun(project_dir: Path, tmp_path: Path, where: str) -> None:
    csv_path = tmp_path / "orders.csv"
    _big_csv(csv_path, 30_000)
    Platform.open(project_dir).close()
    marker = tmp_path / "marker"
    proc = _spawn(STOP_AT, str(project_dir), str(csv_path), str(marker), where)
    _wait_for(marker, proc)
    _kill(proc)
    with Platform.open(project_dir) as p:
        storage = p.lake.storage
        if where == "mid-ingest":
            assert not storage.exists("bronze.orders")  # nothing committed
        else:
            assert storage.open("bronze.orders").version() == 0  # committed before the kill
            # ... and recorded on open, marked recovered and audited (issue #10, finding 11)
            recovered = p.catalog.get_asset("table:bronze.orders").properties["recovered"]
            assert recovered == {"version": 0, "action": "lake.ingest", "batch_id": None}
            audit = p.audit.list_records(action="lake.write.recovered").items
            assert {a.asset for a in audit} == {
                "table:bronze.orders@0",
                "table:bronze.orders__quarantine@0",
            }
        r = p.lake.ingest("bronze.orders", csv_path)
        assert r.skipped == (where == "before-catalog")
        info = p.lake.get_table("bronze.orders")
        assert (info.version, info.num_rows) == (0, 30_000)
        assert (
            p.lake.sql("SELECT count(DISTINCT order_id) AS n FROM bronze.orders")["n"][0].as_py()
            == 30_000
        )
        q = p.lake.read("bronze.orders__quarantine")
        assert q.num_rows == 1 and q.column("_line").to_pylist() == [11]


def test_killed_refresh_then_rerun(project_dir: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "orders.csv"
    _big_csv(csv_path, 2_000)
    with Platform.open(project_dir) as p:
        p.lake.ingest("bronze.orders", csv_path)
        p.lake.define(
            TableDefinition(
                name="silver.orders",
                sql="SELECT * FROM bronze.orders",
                expectations=[Expectation.range("amount", min=0, action="quarantine")],
                primary_key=["order_id"],
                incremental=True,
            )
        )
    marker = tmp_path / "marker"
    proc = _spawn(STOP_AT, str(project_dir), str(csv_path), str(marker), "mid-refresh")
    _wait_for(marker, proc)
    _kill(proc)
    with Platform.open(project_dir) as p:
        assert p.lake.storage.open("silver.orders").version() == 0
        quarantined = p.lake.storage.open("silver.orders__quarantine").to_pyarrow_table().num_rows
        assert quarantined == 40  # written before the kill
        r = p.lake.refresh("silver.orders")
        assert (r.version, r.rows_written, r.rows_quarantined) == (1, 1960, 40)
        assert p.lake.read("silver.orders__quarantine").num_rows == 40  # not twice
        assert p.lake.refresh("silver.orders").mode == "noop"


def test_concurrent_refreshes_write_once(project_dir: Path, tmp_path: Path) -> None:
    import threading

    csv_path = tmp_path / "orders.csv"
    _big_csv(csv_path, 5_000)
    with Platform.open(project_dir) as p:
        p.lake.ingest("bronze.orders", csv_path)
        p.lake.define(
            TableDefinition(
                name="silver.orders",
                sql="SELECT order_id, amount FROM bronze.orders",
                incremental=True,
            )
        )
        errors: list[BaseException] = []

        def refresh() -> None:
            try:
                p.lake.refresh("silver.orders")
            except BaseException as exc:  # collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=refresh) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        n = p.lake.sql("SELECT count(*) AS n, count(DISTINCT order_id) AS d FROM silver.orders")
        assert n.to_pylist() == [{"n": 5_000, "d": 5_000}]
