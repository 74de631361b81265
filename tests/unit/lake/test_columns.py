from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.lake import ColumnDoc, TableDefinition
from shipyard.platform import Platform


def test_column_lineage_through_layers(platform: Platform, raw_dir: Path) -> None:
    platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    platform.lake.ingest("bronze.customers", raw_dir / "customers.jsonl")
    platform.lake.define(
        TableDefinition(
            name="silver.orders",
            sql="SELECT o.order_id, o.customer_id, o.amount * 1.19 AS gross, c.country "
            "FROM bronze.orders o LEFT JOIN bronze.customers c USING (customer_id)",
        )
    )
    platform.lake.define(
        TableDefinition(
            name="gold.by_country",
            sql="SELECT country, sum(gross) AS revenue, count(*) AS n FROM silver.orders GROUP BY 1",
        )
    )
    lin = platform.lake.column_lineage("gold.by_country.revenue")
    assert lin.edges == [
        ("gold.by_country.revenue", "silver.orders.gross"),
        ("silver.orders.gross", "bronze.orders.amount"),
    ]
    assert lin.roots == ["bronze.orders.amount"]
    assert platform.lake.column_lineage("gold.by_country.country").roots == [
        "bronze.customers.country"
    ]
    assert platform.lake.column_lineage("gold.by_country.n").edges == []
    with pytest.raises(NotFound):
        platform.lake.column_lineage("gold.by_country.nope")
    with pytest.raises(InvalidArgument):
        platform.lake.column_lineage("revenue")


def test_column_docs_and_pii_tags(platform: Platform, raw_dir: Path) -> None:
    platform.lake.ingest("bronze.customers", raw_dir / "customers.jsonl")
    info = platform.lake.describe_column(
        "bronze.customers", "email", description="contact address", tags=["pii"]
    )
    email = next(c for c in info.columns if c.name == "email")
    assert (email.description, email.tags) == ("contact address", ["pii"])
    # Docs survive new versions, and definitions can carry them too.
    platform.lake.ingest("bronze.customers", raw_dir / "customers.jsonl", batch_id="again")
    info = platform.lake.get_table("bronze.customers")
    assert next(c for c in info.columns if c.name == "email").tags == ["pii"]
    d = platform.lake.define(
        TableDefinition(
            name="silver.customers",
            sql="SELECT customer_id, email FROM bronze.customers",
            columns={"email": ColumnDoc(description="verified", tags=["pii"])},
        )
    )
    assert next(c for c in d.columns if c.name == "email").tags == ["pii"]
    with pytest.raises(NotFound):
        platform.lake.describe_column("bronze.customers", "nope", tags=["pii"])
