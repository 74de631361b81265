from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.lake import Expectation, TableDefinition
from shipyard.platform import Platform

SILVER = TableDefinition(
    name="silver.orders",
    sql="SELECT order_id, customer_id, order_ts, amount, channel, _ingested_at FROM bronze.orders",
    expectations=[
        Expectation.not_null("customer_id", action="quarantine"),
        Expectation.range("amount", min=0, action="quarantine"),
        Expectation.accepted_values("channel", ["web", "app", "store"]),
    ],
    dedupe_on=["order_id"],
    primary_key=["order_id"],
    incremental=True,
)
GOLD = TableDefinition(
    name="gold.customer_daily",
    sql="SELECT customer_id, date_trunc('day', order_ts) AS event_ts, count(*) AS orders, "
    "sum(amount) AS amount FROM silver.orders GROUP BY ALL",
)


@pytest.fixture
def lake(platform: Platform, raw_dir: Path) -> Platform:
    platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    return platform


def test_refresh_dedupes_and_quarantines(lake: Platform) -> None:
    info = lake.lake.define(SILVER)
    assert info.defined and info.version == 0 and info.num_rows == 0
    r = lake.lake.refresh("silver.orders")
    assert (r.version, r.rows_written, r.rows_quarantined) == (1, 3, 2)
    by_name = {e.name: e for e in r.expectations}
    assert by_name["customer_id_not_null"].failed == 1
    assert by_name["amount_range"].failed == 1
    assert by_name["channel_accepted_values"].passed == 5
    ids = lake.lake.sql("SELECT order_id FROM silver.orders ORDER BY 1")["order_id"].to_pylist()
    assert ids == [1, 2, 7]
    q = lake.lake.read("silver.orders__quarantine").to_pylist()
    assert sorted((row["order_id"], tuple(row["_failed_expectations"])) for row in q) == [
        (3, ("amount_range",)),
        (4, ("customer_id_not_null",)),
    ]
    # Lineage: bronze.orders@0 -> silver.orders@1, and results in the catalog.
    graph = lake.catalog.lineage("table:silver.orders")
    assert [(str(e.source), str(e.target), e.operation) for e in graph.edges] == [
        ("table:bronze.orders@0", "table:silver.orders@1", "refresh")
    ]
    props = lake.catalog.get_asset("table:silver.orders").properties
    assert props["last_refresh"]["expectations"][0]["failed"] == 1
    assert lake.lake.list_refreshes("silver.orders").items[0]["rows_quarantined"] == 2


def test_incremental_processes_only_new_rows(lake: Platform, tmp_path: Path) -> None:
    lake.lake.define(SILVER)
    lake.lake.refresh("silver.orders")
    assert lake.lake.refresh("silver.orders").mode == "noop"
    more = tmp_path / "more.csv"
    more.write_text(
        "order_id,customer_id,order_ts,amount,channel\n"
        "7,9,2026-01-04T09:00:00+00:00,31.0,web\n"  # an update of order 7
        "8,7,2026-01-05T09:00:00+00:00,5.0,app\n"
    )
    lake.lake.ingest("bronze.orders", more)
    r = lake.lake.refresh("silver.orders")
    assert r.mode == "incremental" and r.rows_written == 2 and r.rows_quarantined == 0
    assert r.source_versions == {"bronze.orders": 1}
    rows = lake.lake.sql("SELECT order_id, amount FROM silver.orders ORDER BY 1").to_pylist()
    assert rows == [
        {"order_id": 1, "amount": 10.5},
        {"order_id": 2, "amount": 20.0},
        {"order_id": 7, "amount": 31.0},
        {"order_id": 8, "amount": 5.0},
    ]
    full = lake.lake.refresh("silver.orders", full=True)
    assert full.mode == "full" and full.rows_written == 4
    # A full refresh rewrites the table even though these source versions were
    # already processed incrementally.
    assert full.version == r.version + 1
    assert lake.lake.history("silver.orders")[0].operation == "refresh:full"
    assert lake.lake.get_table("silver.orders").num_rows == 4


def test_refresh_all_in_dependency_order(lake: Platform) -> None:
    lake.lake.define(SILVER)
    lake.lake.define(GOLD)
    results = lake.lake.refresh_all()
    assert [r.table for r in results] == ["silver.orders", "gold.customer_daily"]
    gold = lake.lake.read("gold.customer_daily")
    assert gold.num_rows == 3
    graph = lake.catalog.lineage("table:gold.customer_daily", depth=3)
    assert {str(n) for n in graph.nodes} >= {"table:bronze.orders@0", "table:silver.orders@1"}
    assert lake.lake.read("gold.customer_daily", version=0).num_rows == 0
    assert lake.catalog.get_asset("table:gold.customer_daily").version == 1


def test_fail_expectation_writes_nothing(lake: Platform) -> None:
    strict = SILVER.model_copy(
        update={"expectations": [Expectation.not_null("customer_id", action="fail")]}
    )
    lake.lake.define(strict)
    with pytest.raises(InvalidArgument, match="customer_id_not_null"):
        lake.lake.refresh("silver.orders")
    assert lake.lake.get_table("silver.orders").version == 0
    failed = lake.audit.list_records(action="lake.refresh").items
    assert failed[0].outcome == "error"


def test_expectation_kinds(lake: Platform) -> None:
    d = TableDefinition(
        name="silver.checks",
        sql="SELECT order_id, customer_id, channel, amount FROM bronze.orders",
        expectations=[
            Expectation.unique("order_id"),
            Expectation.regex("channel", "^(web|app)$"),
            Expectation.sql("small", "amount < 25"),
            Expectation.range("amount", max=25, min=0),
        ],
    )
    lake.lake.define(d)
    r = lake.lake.refresh("silver.checks")
    failed = {e.name: e.failed for e in r.expectations}
    assert failed == {"order_id_unique": 2, "channel_regex": 1, "small": 1, "amount_range": 2}
    assert r.rows_written == 6 and r.rows_quarantined == 0


def test_define_validates(lake: Platform) -> None:
    with pytest.raises(InvalidArgument, match="syntax error"):
        lake.lake.define(TableDefinition(name="silver.x", sql="SELEC * FROM bronze.orders"))
    with pytest.raises(NotFound, match="does not exist yet"):
        lake.lake.define(TableDefinition(name="silver.x", sql="SELECT * FROM bronze.nope"))
    with pytest.raises(InvalidArgument, match="unknown column"):
        lake.lake.define(
            TableDefinition(
                name="silver.x",
                sql="SELECT order_id FROM bronze.orders",
                expectations=[Expectation.not_null("amount")],
            )
        )
    with pytest.raises(InvalidArgument, match="query failed"):
        lake.lake.define(TableDefinition(name="silver.x", sql="SELECT nope FROM bronze.orders"))
    with pytest.raises(NotFound):
        lake.lake.refresh("silver.x")


def test_type_change_is_refused(lake: Platform) -> None:
    lake.lake.define(
        TableDefinition(name="silver.t", sql="SELECT order_id, amount FROM bronze.orders")
    )
    lake.lake.refresh("silver.t")
    lake.lake.define(
        TableDefinition(
            name="silver.t",
            sql="SELECT order_id, CAST(amount AS VARCHAR) AS amount FROM bronze.orders",
        )
    )
    with pytest.raises(InvalidArgument, match=r"column 'amount'.*double.*string"):
        lake.lake.refresh("silver.t")
    assert lake.lake.get_table("silver.t").version == 1


def test_python_function_definition(lake: Platform) -> None:
    def big_orders(con):  # type: ignore[no-untyped-def]
        return con.sql("SELECT order_id, amount FROM bronze.orders WHERE amount > 15")

    lake.lake.define(TableDefinition(name="gold.big", function=big_orders, source="bronze.orders"))
    r = lake.lake.refresh("gold.big")
    assert r.rows_written == 3


def test_table_decorator(lake: Platform) -> None:
    from shipyard.lake import table

    @table(
        "silver.positive",
        source="bronze.orders",
        primary_key=["order_id"],
        expectations=[Expectation.not_null("customer_id", action="quarantine")],
    )
    def positive(con):  # type: ignore[no-untyped-def]
        """Orders with a positive amount."""
        return con.sql("SELECT order_id, customer_id, amount FROM bronze.orders WHERE amount > 0")

    @table("gold.total")
    def total() -> str:
        return "SELECT sum(amount) AS total FROM silver.positive"

    info = lake.lake.define(positive)
    assert info.description == "Orders with a positive amount."
    lake.lake.define(total)
    results = lake.lake.refresh_all()
    assert [(r.table, r.rows_written) for r in results] == [
        ("silver.positive", 3),
        ("gold.total", 1),
    ]
    assert lake.lake.read("gold.total")["total"][0].as_py() == 60.5


def test_schema_evolution_on_refresh(lake: Platform) -> None:
    lake.lake.define(TableDefinition(name="silver.t", sql="SELECT order_id FROM bronze.orders"))
    lake.lake.refresh("silver.t")
    wider = "SELECT order_id, amount FROM bronze.orders"
    lake.lake.define(TableDefinition(name="silver.t", sql=wider))
    with pytest.raises(InvalidArgument, match="enable schema_evolution"):
        lake.lake.refresh("silver.t")
    lake.lake.define(TableDefinition(name="silver.t", sql=wider, schema_evolution=True))
    r = lake.lake.refresh("silver.t")
    assert r.version == 2
    assert [c.name for c in lake.lake.get_table("silver.t").columns] == ["order_id", "amount"]
    assert lake.lake.read("silver.t", version=1).column_names == ["order_id"]


def test_zorder_optimize(lake: Platform) -> None:
    lake.lake.write("bronze.orders", [{"order_id": 50, "customer_id": 1, "amount": 2.0}])
    res = lake.lake.optimize("bronze.orders", z_order=["customer_id"])
    assert res.version == 2 and res.metrics["numFilesRemoved"] == 2
    assert lake.lake.get_table("bronze.orders").num_rows == 7


def test_non_append_upstream_change_recomputes(lake: Platform, tmp_path: Path) -> None:
    lake.lake.define(SILVER)
    lake.lake.refresh("silver.orders")
    more = tmp_path / "more.csv"
    more.write_text(
        "order_id,customer_id,order_ts,amount,channel\n9,7,2026-01-05T09:00:00+00:00,5.0,app\n"
    )
    lake.lake.ingest("bronze.orders", more)
    assert lake.lake.refresh("silver.orders").mode == "incremental"
    lake.lake.restore("bronze.orders", version=0)  # order 9 is gone upstream
    r = lake.lake.refresh("silver.orders")
    assert r.mode == "full"
    ids = lake.lake.sql("SELECT order_id FROM silver.orders ORDER BY 1")["order_id"].to_pylist()
    assert ids == [1, 2, 7]
    lake.lake.restore("silver.orders", version=1)
    assert lake.lake.refresh("silver.orders").mode == "full"  # its own restore too


PLAIN = TableDefinition(
    name="silver.plain", sql="SELECT order_id, amount FROM bronze.orders", incremental=True
)


@pytest.mark.parametrize("compact", [False, True])
def test_incremental_reads_each_appended_row_once(lake: Platform, compact: bool) -> None:
    # No keys: a row read twice (or missed) shows in the counts.
    lake.lake.define(PLAIN)
    lake.lake.refresh("silver.plain")
    lake.lake.write("bronze.orders", [{"order_id": 50, "customer_id": 1, "amount": 2.0}])
    lake.lake.write("bronze.orders", [{"order_id": 51, "customer_id": 1, "amount": 3.0}])
    if compact:  # rewrites old and new rows into one file: the adds are read from the log
        lake.lake.optimize("bronze.orders")
    lake.lake.write("bronze.orders", [{"order_id": 52, "customer_id": 2, "amount": 4.0}])
    r = lake.lake.refresh("silver.plain")
    assert r.mode == "incremental" and r.rows_written == 3
    count = "SELECT count(*) AS n, count(DISTINCT order_id) AS d FROM {}"
    bronze = lake.lake.sql(count.format("bronze.orders")).to_pylist()
    assert lake.lake.sql(count.format("silver.plain")).to_pylist() == bronze
