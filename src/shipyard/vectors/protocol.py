"""The interface of vector search: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process ``VectorService`` and the remote ``RemoteVectorService`` implement it;
mypy checks both (``shipyard.client.conformance``) and
``tests/unit/client/test_signatures.py`` compares every signature and default (ADR 0008).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from shipyard.vectors.backends.base import Filter
from shipyard.vectors.models import IndexState, QueryResult, VectorIndexInfo


class VectorsAPI(Protocol):
    """What ``VectorService`` offers both in-process and over HTTP."""

    def plan(self, specs: Iterable[Any]) -> list[dict[str, Any]]:
        """What ``apply`` would do: ``{"name", "table", "action": create|update|unchanged}``."""
        ...

    def apply(self, specs: Iterable[Any]) -> list[dict[str, Any]]:
        """Create or update index definitions (needs WRITE on each source table's team)."""
        ...

    def build(self, name: str, *, full: bool = False) -> IndexState:
        """Bring the index up to its table's latest version (incremental unless ``full``)."""
        ...

    def query(
        self,
        name: str,
        vector: Sequence[float] | np.ndarray | None = None,
        *,
        id: Any = None,
        k: int = 10,
        filter: Filter | None = None,
        text: str | None = None,
    ) -> QueryResult:
        """The ``k`` nearest rows to ``vector`` (or to row ``id``), exactly ``k`` when as many match.

        With ``text``, the vector ranking is fused with a keyword (BM25) ranking over the
        index's ``text_column`` (reciprocal rank fusion; ``method="hybrid"``).
        """
        ...

    def get(self, name: str) -> VectorIndexInfo:
        """The definition, owner and last build's state of an index."""
        ...

    def list(self) -> list[VectorIndexInfo]:
        """The indexes the caller may read, by name."""
        ...
