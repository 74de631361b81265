"""Packed online values: nulls, every type, a batch and a row pack the same way."""

from __future__ import annotations

import pyarrow as pa

from shipyard.features.codec import ValueCodec
from shipyard.features.models import Feature
from tests.unit.features.helpers import day


def test_fixed_layout_round_trip_with_nulls() -> None:
    codec = ValueCodec([Feature("a", "float64"), Feature("b", "int32"), Feature("c", "bool")])
    assert codec.fixed
    batch = pa.table(
        {
            "a": pa.array([1.5, None], pa.float64()),
            "b": pa.array([None, -7], pa.int32()),
            "c": pa.array([True, None], pa.bool_()),
        }
    )
    packed = codec.encode_batch(batch)
    assert [codec.decode(v) for v in packed] == [[1.5, None, True], [None, -7, None]]
    assert codec.encode_row([1.5, None, True]) == packed[0]


def test_json_layout_for_strings_and_timestamps() -> None:
    codec = ValueCodec([Feature("s", "string"), Feature("t", "timestamp"), Feature("x", "int64")])
    assert not codec.fixed
    batch = pa.table(
        {
            "s": ["ü ✓", None],
            "t": pa.array([day(1), None], pa.timestamp("us", "UTC")),
            "x": pa.array([2**62, 3], pa.int64()),
        }
    )
    packed = codec.encode_batch(batch)
    assert [codec.decode(v) for v in packed] == [["ü ✓", day(1), 2**62], [None, None, 3]]
    assert codec.decode(codec.encode_row(["ü ✓", day(1), 2**62])) == ["ü ✓", day(1), 2**62]
