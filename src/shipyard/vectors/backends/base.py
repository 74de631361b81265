"""The vector-index seam: one narrow interface, an embedded and a PostgreSQL implementation.

Ids are the source table's id values (``int`` or ``str``). Distances are "smaller is
nearer" for every metric: L2 (euclidean), cosine (``1 - cos``), inner product (``-ip``).
Filters are ``{column: value}`` or ``{column: [values...]}`` (equality / membership), on
the columns the index declared filterable.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from shipyard.errors import InvalidArgument
from shipyard.vectors.models import MAX_K, VectorIndexSpec

Filter = Mapping[str, Any]


@dataclass(frozen=True)
class Capabilities:
    hnsw: bool = True
    exact: bool = True
    filters: bool = True
    #: ``save``/``load`` move the whole index through files (embedded) rather than a server.
    files: bool = True


@dataclass
class Neighbours:
    ids: list[Any]
    distances: list[float]
    matched: int
    method: str


class VectorIndex(abc.ABC):
    """An index of (id, vector, filterable attributes) rows."""

    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, spec: VectorIndexSpec) -> None:
        self.spec = spec

    @abc.abstractmethod
    def build(
        self, ids: Sequence[Any], vectors: np.ndarray, attrs: Mapping[str, Sequence[Any]]
    ) -> None:
        """Replace the whole content with these rows."""

    @abc.abstractmethod
    def upsert(
        self, ids: Sequence[Any], vectors: np.ndarray, attrs: Mapping[str, Sequence[Any]]
    ) -> None:
        """Add rows, replacing the rows with the same ids."""

    @abc.abstractmethod
    def delete(self, ids: Sequence[Any]) -> int:
        """Remove rows by id (unknown ids are ignored); returns how many went."""

    @abc.abstractmethod
    def query(self, vector: np.ndarray, k: int, filter: Filter | None = None) -> Neighbours:
        """The ``k`` nearest rows matching ``filter``: exactly ``k`` whenever ``k`` rows match."""

    @abc.abstractmethod
    def get_vector(self, id: Any) -> np.ndarray | None:
        """The stored vector of ``id`` (``None`` if absent)."""

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def save(self, table_version: int | None) -> None:
        """Persist atomically: a crash leaves the previous saved state loadable."""

    @abc.abstractmethod
    def load(self) -> int | None:
        """Load the saved state; returns the table version it was built at (``None``: none)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or memory."""

    # -- shared checks ---------------------------------------------------------------

    def check_vectors(self, ids: Sequence[Any], vectors: np.ndarray) -> np.ndarray:
        """``vectors`` as float32 (n, dimension); refuses NaN/inf rows naming the first id."""
        arr = np.asarray(vectors, dtype=np.float32)
        d = self.spec.dimension
        if arr.ndim != 2 or arr.shape[1] != d:
            got = arr.shape[-1] if arr.ndim else 0
            raise InvalidArgument(
                f"index '{self.spec.name}' wants {d}-dimensional vectors, got {got}"
            )
        if len(ids) != arr.shape[0]:
            raise InvalidArgument(f"{len(ids)} ids for {arr.shape[0]} vectors")
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            first = ids[int(np.argmax(bad))]
            raise InvalidArgument(
                f"index '{self.spec.name}': vector of id {first!r} has NaN or infinite values",
                id=str(first),
            )
        return arr

    def check_query(self, vector: Any, k: int, filter: Filter | None) -> np.ndarray:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidArgument(f"k must be an integer in 1..{MAX_K}, got {k!r}")
        try:
            q = np.asarray(vector, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError):
            raise InvalidArgument("the query vector must be a list of numbers") from None
        if q.shape[0] != self.spec.dimension:
            raise InvalidArgument(
                f"index '{self.spec.name}' wants {self.spec.dimension}-dimensional "
                f"query vectors, got {q.shape[0]}"
            )
        if not np.isfinite(q).all():
            raise InvalidArgument("the query vector has NaN or infinite values")
        for column in filter or {}:
            if column not in self.spec.filterable:
                allowed = ", ".join(self.spec.filterable) or "none"
                raise InvalidArgument(
                    f"'{column}' is not a filterable column of index '{self.spec.name}' "
                    f"(filterable: {allowed})"
                )
        return q


def filter_values(value: Any) -> list[Any]:
    """The accepted values of one filter entry (a scalar or a list of them)."""
    values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
    for v in values:
        if not isinstance(v, str | int | float | bool) and v is not None:
            raise InvalidArgument(f"filter values must be scalars, got {type(v).__name__}")
    return values
