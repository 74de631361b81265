"""`shipyard catalog lineage <layer>.<table>.<column>` answers with column lineage."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from shipyard.cli.main import run
from shipyard.lake import TableDefinition
from shipyard.platform import Platform


def test_column_reference_goes_to_column_lineage(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Platform.open(project_dir) as p:
        p.lake.write("bronze.orders", pa.table({"id": [1, 2], "amount": [3.0, 4.0]}))
        p.lake.define(
            TableDefinition(
                name="silver.orders",
                sql="SELECT id, amount * 2 AS doubled FROM bronze.orders",
                incremental=False,
            )
        )
        p.lake.refresh("silver.orders")
    capsys.readouterr()
    code = run(["-C", str(project_dir), "catalog", "lineage", "silver.orders.doubled", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    assert ["silver.orders.doubled", "bronze.orders.amount"] in json.loads(out)["edges"]
