"""Neighbour features for serving: a vector index's nearest rows, summed up over a column.

``VectorNeighborLookup`` is the ``NeighborLookup`` port over ``VectorService`` and the
lake, acting as the serving runtime's principal: the caller of ``predict`` is authorized
at the serving boundary, and whoever writes a deployment must be able to read each
step's index (its source table's grants) and column (``check_neighbor_steps``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgument, NotFound
from shipyard.serving.ports import FeatureRows

if TYPE_CHECKING:
    from shipyard.lake.service import LakeService
    from shipyard.serving.models import NeighborFeatures
    from shipyard.vectors.service import VectorService

PRESENT = "PRESENT"
NOT_FOUND = "NOT_FOUND"
_MAX_CACHED = 16
_NUMERIC = re.compile(r"^(?:u?int\d+|float|double|halffloat|bool|decimal.*)$")


def check_neighbor_steps(
    steps: list[NeighborFeatures], vectors: VectorService, lake: LakeService
) -> None:
    """Each step's index exists, the caller may read it, and it has the step's column.

    Raises:
        InvalidArgument: no such index, or its source table has no such column (400).
        PermissionDenied: the caller may not read the index's source table (403).
    """
    for n, step in enumerate(steps):
        where = f"neighbors[{n}]"
        try:
            info = vectors.get(step.index)
        except NotFound:
            raise InvalidArgument(
                f"{where}: no vector index named '{step.index}'", index=step.index
            ) from None
        for column in step.filter or {}:
            if column not in info.spec.filterable:
                raise InvalidArgument(
                    f"{where}: '{column}' is not a filterable column of index '{step.index}'",
                    index=step.index,
                )
        if step.column is not None:
            if info.spec.table is None:
                raise InvalidArgument(
                    f"{where}: index '{step.index}' is over a feature view; neighbour "
                    "features need an index over a lake table"
                )
            columns = {c.name: c.type for c in lake.get_table(info.spec.table).columns}
            kind = columns.get(step.column)
            if kind is None or not _NUMERIC.match(kind):
                what = "no column" if kind is None else f"a {kind} column, not a number:"
                raise InvalidArgument(
                    f"{where}: table {info.spec.table} (index '{step.index}') has "
                    f"{what} '{step.column}'",
                    index=step.index,
                    column=step.column,
                )


class VectorNeighborLookup:
    """``NeighborLookup`` through ``VectorService.query(id=...)`` and the index's table.

    The aggregated column is read once per index build (``table_version``) into an
    ``{id: value}`` map, kept for the last few (index, column, version) triples.
    """

    def __init__(self, vectors: Callable[[], VectorService], lake: Callable[[], LakeService]):
        self._vectors = vectors
        self._lake = lake
        self._values: dict[tuple[str, str, int | None], dict[Any, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, step: NeighborFeatures, ids: list[Any]) -> FeatureRows:
        columns: dict[str, list[Any]] = {out: [] for out in step.outputs}
        statuses: list[dict[str, str]] = []
        memo: dict[Any, dict[str, Any] | None] = {}
        for entity in ids:
            if entity not in memo:
                memo[entity] = self._features(step, entity)
            found = memo[entity]
            for out in step.outputs:
                columns[out].append(None if found is None else found[out])
            status = NOT_FOUND if found is None else PRESENT
            statuses.append(dict.fromkeys(step.outputs, status))
        return FeatureRows(columns=columns, statuses=statuses)

    def _features(self, step: NeighborFeatures, entity: Any) -> dict[str, Any] | None:
        try:
            found = self._vectors().query(step.index, id=entity, k=step.k, filter=step.filter)
        except NotFound as exc:
            if "id" in exc.details:  # the entity is not in the index: no features
                return None
            raise
        values: list[Any] = []
        if step.column is not None:
            known = self._column(step.index, step.column, found.table_version)
            values = [known.get(i) for i in found.ids]
        return aggregate(step.outputs, len(found.ids), values)

    def _column(self, index: str, column: str, version: int | None) -> dict[Any, Any]:
        key = (index, column, version)
        held = self._values.get(key)
        if held is not None:
            return held
        with self._lock:
            held = self._values.get(key)
            if held is None:
                spec = self._vectors().get(index).spec
                table = self._lake().read(  # an index over a table (checked at write)
                    spec.source, version=version, columns=[str(spec.id_column), column]
                )
                ids = table.column(spec.id_column).to_pylist()
                held = dict(zip(ids, table.column(column).to_pylist(), strict=True))
                if len(self._values) >= _MAX_CACHED:
                    self._values.clear()
                self._values[key] = held
        return held


def aggregate(outputs: Mapping[str, str], found: int, values: list[Any]) -> dict[str, Any]:
    """Each output's aggregation of ``values`` (nulls skipped); ``count`` is ``found``."""
    numbers = [float(v) for v in values if v is not None]
    out: dict[str, Any] = {}
    for name, agg in outputs.items():
        if agg == "count":
            out[name] = found
        elif not numbers:
            out[name] = None
        elif agg == "mean":
            out[name] = sum(numbers) / len(numbers)
        elif agg == "sum":
            out[name] = sum(numbers)
        elif agg == "min":
            out[name] = min(numbers)
        else:
            out[name] = max(numbers)
    return out
