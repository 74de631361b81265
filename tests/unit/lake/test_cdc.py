from __future__ import annotations

import pytest

from shipyard.errors import InvalidArgument
from shipyard.platform import Platform


def _rows(platform: Platform) -> list[dict[str, object]]:
    return platform.lake.sql("SELECT id, name, seq FROM silver.customers ORDER BY id").to_pylist()


def test_apply_changes_latest_wins_with_deletes(platform: Platform) -> None:
    feed = [
        {"id": 1, "name": "a", "seq": 1, "op": "INSERT"},
        {"id": 2, "name": "b", "seq": 1, "op": "INSERT"},
        {"id": 1, "name": "a2", "seq": 3, "op": "UPDATE"},
        {"id": 1, "name": "a1", "seq": 2, "op": "UPDATE"},  # out of order: older than seq 3
        {"id": 3, "name": "c", "seq": 1, "op": "INSERT"},
        {"id": 3, "name": "c", "seq": 2, "op": "DELETE"},
        {"id": 2, "name": "b", "seq": 1, "op": "INSERT"},  # duplicate delivery
    ]
    r = platform.lake.apply_changes("silver.customers", feed, keys=["id"], sequence_by="seq")
    assert (r.inserted, r.updated, r.deleted) == (2, 0, 0)
    assert _rows(platform) == [{"id": 1, "name": "a2", "seq": 3}, {"id": 2, "name": "b", "seq": 1}]

    later = [
        {"id": 1, "name": "stale", "seq": 2, "op": "UPDATE"},  # older than what the table has
        {"id": 2, "name": "b2", "seq": 5, "op": "UPDATE"},
        {"id": 1, "name": None, "seq": 4, "op": "DELETE"},
        {"id": 4, "name": "d", "seq": 1, "op": "INSERT"},
    ]
    r2 = platform.lake.apply_changes("silver.customers", later, keys=["id"], sequence_by="seq")
    assert (r2.inserted, r2.updated, r2.deleted) == (1, 1, 1)
    assert _rows(platform) == [{"id": 2, "name": "b2", "seq": 5}, {"id": 4, "name": "d", "seq": 1}]

    # A change older than the delete arrives late: the row stays deleted.
    late = [{"id": 1, "name": "zombie", "seq": 3, "op": "UPDATE"}]
    platform.lake.apply_changes("silver.customers", late, keys=["id"], sequence_by="seq")
    assert [r["id"] for r in _rows(platform)] == [2, 4]
    # Replaying everything changes nothing.
    again = platform.lake.apply_changes(
        "silver.customers", feed + later, keys=["id"], sequence_by="seq"
    )
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    assert [r["id"] for r in _rows(platform)] == [2, 4]
    asset = platform.catalog.get_asset("table:silver.customers")
    assert asset.version == again.version


def test_apply_changes_from_a_table_records_lineage(platform: Platform) -> None:
    platform.lake.write(
        "bronze.customer_changes",
        [
            {"id": 1, "name": "a", "seq": 1, "op": "INSERT"},
            {"id": 1, "name": "b", "seq": 2, "op": "UPDATE"},
        ],
    )
    r = platform.lake.apply_changes(
        "silver.customers", "bronze.customer_changes", keys=["id"], sequence_by="seq"
    )
    assert r.inserted == 1
    graph = platform.catalog.lineage("table:silver.customers")
    assert str(graph.edges[0].source) == "table:bronze.customer_changes@0"


def test_apply_changes_validates(platform: Platform) -> None:
    with pytest.raises(InvalidArgument, match="lacks column"):
        platform.lake.apply_changes("silver.c", [{"id": 1}], keys=["id"], sequence_by="seq")
