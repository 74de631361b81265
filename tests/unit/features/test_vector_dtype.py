"""The ``vector[N]`` feature type (issue #18): parsed, typed, refused in one line."""

from __future__ import annotations

import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument
from shipyard.features import Feature
from shipyard.features.models import arrow_type, vector_dimension
from shipyard.features.offline import duck_type


def test_vector_types_map_to_fixed_size_float_lists() -> None:
    assert vector_dimension("vector[128]") == 128 and vector_dimension("float64") is None
    assert arrow_type("vector[3]") == pa.list_(pa.float32(), 3)
    assert duck_type("vector[3]") == "FLOAT[3]" and duck_type("int64") == "BIGINT"
    assert Feature("emb", "vector[16000]").dtype == "vector[16000]"


@pytest.mark.parametrize("dtype", ["vector[0]", "vector[16001]", "vector", "vector[3.5]"])
def test_bad_vector_types_are_refused(dtype: str) -> None:
    with pytest.raises(InvalidArgument, match="or vector\\[N\\]") as err:
        Feature("emb", dtype)
    assert "\n" not in str(err.value)
