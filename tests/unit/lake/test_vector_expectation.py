"""``Expectation.vector``: an embedding column's dimension and NaNs (issue #18)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument
from shipyard.lake import Expectation
from shipyard.lake.expectations import check


def test_vector_expectation_counts_wrong_dimensions_nans_and_null_elements() -> None:
    data = pa.table(
        {
            "emb": pa.array(
                [[1.0, 2.0], [float("nan"), 1.0], [1.0], None, [1.0, None]],
                pa.list_(pa.float32()),
            )
        }
    )
    with duckdb.connect() as con:
        done = check(con, data, [Expectation.vector("emb", 2, action="quarantine")], table="gold.x")
        assert done.results[0].failed == 3  # a null vector passes (use not_null for that)
        assert done.good.column("emb").to_pylist() == [[1.0, 2.0], None]
        assert done.quarantined.column("_failed_expectations").to_pylist() == [["emb_vector"]] * 3
        with pytest.raises(InvalidArgument, match="emb_vector"):
            check(con, data, [Expectation.vector("emb", 2, action="fail")], table="gold.x")
    with pytest.raises(InvalidArgument, match="positive dimension"):
        Expectation.vector("emb", 0)
