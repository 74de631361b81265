"""The lake storage contract: one suite, run unchanged on every storage root.

Subclasses provide ``lake_settings`` (the ``lake`` section: ``root`` and
``storage_options``); everything else is shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.lake import Expectation, TableDefinition
from shipyard.platform import Platform
from tests.contract.remote import Skin, Skins

CSV = "order_id,customer_id,amount\n1,7,10.0\n2,8,-1.0\n3,9\n2,8,-1.0\n4,7,3.5\n"


class LakeStorageContract(Skins):
    @pytest.fixture
    def lake_settings(self, tmp_path: Path) -> dict[str, Any]:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, lake_settings: dict[str, Any], skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path / "project", lake=lake_settings)
        yield skin(p)
        p.close()

    @pytest.fixture
    def csv_file(self, tmp_path: Path) -> Path:
        f = tmp_path / "orders.csv"
        f.write_text(CSV)
        return f

    def test_location_is_under_the_root(
        self, plat: Platform, csv_file: Path, lake_settings: dict[str, Any]
    ) -> None:
        plat.lake.ingest("bronze.orders", csv_file)
        info = plat.lake.get_table("bronze.orders")
        assert info.location.startswith(lake_settings["root"].rstrip("/"))
        assert info.location.endswith("/bronze/orders")

    def test_ingest_quarantine_and_idempotency(self, plat: Platform, csv_file: Path) -> None:
        r = plat.lake.ingest("bronze.orders", csv_file)
        assert (r.version, r.rows_written, r.rows_quarantined) == (0, 4, 1)
        assert plat.lake.ingest("bronze.orders", csv_file).skipped
        q = plat.lake.read("bronze.orders__quarantine").to_pylist()
        assert q[0]["_line"] == 4 and q[0]["_raw"] == "3,9"

    def test_refresh_sql_and_time_travel(self, plat: Platform, csv_file: Path) -> None:
        plat.lake.ingest("bronze.orders", csv_file)
        plat.lake.define(
            TableDefinition(
                name="silver.orders",
                sql="SELECT * EXCLUDE (_source) FROM bronze.orders",
                expectations=[Expectation.range("amount", min=0, action="quarantine")],
                dedupe_on=["order_id"],
                primary_key=["order_id"],
                incremental=True,
            )
        )
        r = plat.lake.refresh("silver.orders")
        assert (r.rows_written, r.rows_quarantined) == (2, 1)
        plat.lake.write("bronze.orders", [{"order_id": 9, "customer_id": 1, "amount": 2.0}])
        r2 = plat.lake.refresh("silver.orders")
        assert (r2.mode, r2.rows_written) == ("incremental", 1)
        total = plat.lake.sql("SELECT sum(amount) AS s FROM silver.orders WHERE amount > 0")
        assert total["s"][0].as_py() == 15.5
        assert plat.lake.read("silver.orders", version=1).num_rows == 2
        assert (
            plat.lake.sql("SELECT count(*) AS n FROM silver.orders", versions={"silver.orders": 0})[
                "n"
            ][0].as_py()
            == 0
        )

    def test_write_merge_restore_and_maintenance(self, plat: Platform) -> None:
        for i in range(3):
            plat.lake.write("gold.t", pa.table({"id": [i], "v": [float(i)]}))
        changes = [
            {"id": 1, "v": 10.0, "seq": 2, "op": "UPDATE"},
            {"id": 5, "v": 5.0, "seq": 1, "op": "INSERT"},
        ]
        plat.lake.apply_changes("silver.c", changes, keys=["id"], sequence_by="seq")
        assert plat.lake.read("silver.c").num_rows == 2
        plat.lake.restore("gold.t", version=0)
        assert plat.lake.read("gold.t").num_rows == 1
        plat.lake.write("gold.t", pa.table({"id": [7], "v": [7.0]}))
        assert plat.lake.optimize("gold.t").version == 5
        assert sorted(plat.lake.read("gold.t").column("id").to_pylist()) == [0, 7]
        assert plat.lake.vacuum("gold.t", dry_run=True).metrics["dry_run"] is True
        with pytest.raises(NotFound):
            plat.lake.read("gold.t", version=99)
        with pytest.raises(InvalidArgument):
            plat.lake.write("gold.t", {"id": ["not an int"]})
        assert [h.version for h in plat.lake.history("gold.t")] == [5, 4, 3, 2, 1, 0]

    @pytest.mark.in_process_only  # a flag of the storage backend
    def test_concurrent_writers_flag(self, plat: Platform) -> None:
        # A storage that cannot guarantee safe concurrent commits says so.
        assert isinstance(plat.lake.storage.concurrent_writers, bool)
