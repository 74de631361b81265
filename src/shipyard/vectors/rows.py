"""Lake rows to index rows: the id, vector and filterable columns, and a version diff."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.errors import InvalidArgument
from shipyard.vectors.models import VectorIndexSpec

_STRINGS = ("string", "large_string", "large_utf8", "utf8")
_VECTOR_TYPE = re.compile(
    r"^(?:fixed_size_|large_)?list<\w+:(?:float|double|halffloat)>(?:\[(\d+)\])?$"
)


def columns(
    spec: VectorIndexSpec, rows: pa.Table
) -> tuple[list[Any], np.ndarray, dict[str, list[Any]]]:
    """ids, an (n, dimension) float32 matrix and the filterable values of ``rows``."""
    ids_col = rows.column(spec.id_column)
    if ids_col.null_count:
        raise InvalidArgument(f"vector index '{spec.name}': the id column has nulls")
    ids = ids_col.to_pylist()
    vcol = rows.column(spec.vector_column).combine_chunks()
    if isinstance(vcol.type, pa.FixedSizeListType):
        vcol = vcol.cast(pa.list_(vcol.type.value_type))
    lengths = pc.fill_null(pc.list_value_length(vcol), -1).to_numpy(zero_copy_only=False)
    wrong = np.flatnonzero(lengths != spec.dimension)
    if len(wrong):
        got = int(lengths[wrong[0]])
        raise InvalidArgument(
            f"vector index '{spec.name}': row id {ids[wrong[0]]!r} has "
            + ("a null vector" if got < 0 else f"a {got}-dimensional vector")
            + f", the index wants {spec.dimension}",
            id=str(ids[wrong[0]]),
        )
    flat = pc.list_flatten(vcol).to_numpy(zero_copy_only=False)
    vectors = np.asarray(flat, dtype=np.float32).reshape(len(ids), spec.dimension)
    attrs = {c: rows.column(c).to_pylist() for c in spec.filterable}
    return ids, vectors, attrs


def diff(spec: VectorIndexSpec, old: pa.Table, new: pa.Table) -> tuple[list[Any], pa.Table]:
    """Ids gone from ``old`` to ``new``, and the rows of ``new`` that are new or changed."""

    def keyed(t: pa.Table) -> dict[Any, Any]:
        ids = t.column(spec.id_column).to_pylist()
        vecs = t.column(spec.vector_column).to_pylist()
        attrs = [t.column(c).to_pylist() for c in spec.filterable]
        return {
            i: (tuple(v) if v is not None else None, *(a[n] for a in attrs))
            for n, (i, v) in enumerate(zip(ids, vecs, strict=True))
        }

    before, after = keyed(old), keyed(new)
    gone = [i for i in before if i not in after]
    ids = new.column(spec.id_column).to_pylist()
    take = [n for n, i in enumerate(ids) if before.get(i) != after[i]]
    return gone, new.take(pa.array(take, type=pa.int64()))


def check_columns(spec: VectorIndexSpec, types: dict[str, str], where: str) -> None:
    """Refuse, in one line, a column the source lacks or a vector column of the wrong type."""
    for col in (spec.id_column, spec.vector_column, *spec.filterable):
        if col not in types:
            raise InvalidArgument(f"vector index '{spec.name}': {where} has no column '{col}'")
    if spec.text_column is not None and types.get(spec.text_column) not in _STRINGS:
        raise InvalidArgument(
            f"vector index '{spec.name}': {where} has no string column '{spec.text_column}'"
        )
    vtype = types[spec.vector_column].replace(" ", "")
    found = _VECTOR_TYPE.match(vtype)
    if found is None or (found.group(1) and int(found.group(1)) != spec.dimension):
        raise InvalidArgument(
            f"vector index '{spec.name}': column '{spec.vector_column}' is {vtype}, "
            f"not a list of {spec.dimension} floats"
        )
