"""What a vector index is (declared as code) and what a query returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipyard.errors import InvalidArgument

Metric = Literal["cosine", "l2", "ip"]
IndexType = Literal["exact", "hnsw"]
METRICS: tuple[str, ...] = ("cosine", "l2", "ip")
INDEX_TYPES: tuple[str, ...] = ("exact", "hnsw")
MAX_K = 10_000
MAX_DIMENSION = 16_000
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Build parameters an HNSW index understands (and their defaults).
HNSW_DEFAULTS: dict[str, int] = {"m": 16, "ef_construction": 128, "ef_search": 128}


class VectorIndexSpec(BaseModel):
    """A vector index over a lake table or a feature view, declared as code (plan/apply).

    The source is ``table`` (a lake table) or ``feature_view`` (its latest row per
    entity; the id is the view's entity join key, filled in when the spec is
    applied). A mapping may say ``source: "feature_view:<name>"`` or
    ``source: "<layer>.<table>"`` instead.

    Example:
        >>> VectorIndexSpec(name="products", table="gold.products", id_column="product_id",
        ...                 vector_column="embedding", dimension=128, metric="cosine",
        ...                 filterable=["category"])
        >>> VectorIndexSpec(name="items", feature_view="item_embeddings",
        ...                 vector_column="embedding", dimension=128)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["vector_index"] = "vector_index"
    name: str
    table: str | None = None
    feature_view: str | None = None
    id_column: str | None = None
    vector_column: str
    dimension: int = Field(gt=0, le=MAX_DIMENSION)
    metric: Metric = "cosine"
    filterable: tuple[str, ...] = ()
    #: A string column searched by keyword (BM25) in hybrid queries (``query(text=...)``).
    text_column: str | None = None
    index_type: IndexType = "hnsw"
    params: dict[str, int] = Field(default_factory=dict)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be lower-case letters, digits and '_' (a letter first)")
        return v

    @model_validator(mode="before")
    @classmethod
    def _source(cls, data: Any) -> Any:
        if isinstance(data, dict) and "source" in data:
            data = dict(data)
            source = data.pop("source")
            if not isinstance(source, str) or not source:
                raise ValueError("source must be '<layer>.<table>' or 'feature_view:<name>'")
            kind, _, name = source.rpartition(":")
            if kind not in ("", "table", "feature_view"):
                raise ValueError(f"unknown source kind '{kind}' (table or feature_view)")
            data["feature_view" if kind == "feature_view" else "table"] = name
        return data

    @property
    def source(self) -> str:
        """``<layer>.<table>`` or ``feature_view:<name>``."""
        return self.table if self.table is not None else f"feature_view:{self.feature_view}"

    @model_validator(mode="after")
    def _check(self) -> VectorIndexSpec:
        if (self.table is None) == (self.feature_view is None):
            raise ValueError("give exactly one source: table or feature_view")
        if self.table is not None and not self.id_column:
            raise ValueError("an index over a table needs id_column")
        unknown = set(self.params) - set(HNSW_DEFAULTS)
        if unknown:
            raise ValueError(
                f"unknown build parameter(s) {sorted(unknown)}; known: {sorted(HNSW_DEFAULTS)}"
            )
        for key, value in self.params.items():
            if not 1 <= value <= 4096:
                raise ValueError(f"build parameter {key} must be in 1..4096")
        reserved = {self.id_column, self.vector_column}
        if reserved & set(self.filterable):
            raise ValueError("the id and vector columns cannot be filterable columns")
        if self.text_column is not None and self.text_column in reserved:
            raise ValueError("the text column cannot be the id or vector column")
        return self

    def build_params(self) -> dict[str, int]:
        return {**HNSW_DEFAULTS, **self.params}

    @classmethod
    def parse(cls, obj: Any) -> VectorIndexSpec:
        """A spec from a spec or a mapping; ``InvalidArgument`` with one line otherwise."""
        if isinstance(obj, cls):
            return obj
        try:
            return cls.model_validate(obj)
        except Exception as exc:
            errors = getattr(exc, "errors", None)
            if callable(errors):
                first = errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "spec"
                msg = str(first.get("msg", exc)).removeprefix("Value error, ")
                raise InvalidArgument(f"vector index {where}: {msg}") from None
            raise InvalidArgument(f"invalid vector index: {exc}") from None


@dataclass(frozen=True, slots=True)
class Hit:
    """One neighbour: its row id and distance (smaller is nearer)."""

    id: Any
    distance: float


@dataclass(slots=True)
class QueryResult:
    """The nearest rows, best first, as two parallel lists (``ids``, ``distances``).

    ``distance``: L2 (euclidean), cosine (1 - cos) or negative inner product, so
    smaller is always nearer. ``hits`` pairs them up. A plain dataclass of columns,
    not a model with one object per hit: building those was most of a query's cost
    at small beams (the remote client still validates it, through pydantic).
    """

    index: str
    table_version: int | None = None
    ids: list[Any] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)
    #: How many indexed rows matched the filter (all rows without one).
    matched: int = 0
    #: How the answer was computed: "hnsw", "exact", or "hybrid" (with keywords; then
    #: ``distances`` are minus the fused reciprocal-rank scores: still smaller is nearer).
    method: str = "exact"

    @property
    def hits(self) -> list[Hit]:
        return [Hit(i, d) for i, d in zip(self.ids, self.distances, strict=True)]


class IndexState(BaseModel):
    """What the service knows about a built index (kept in the catalog asset's properties)."""

    table_version: int | None = None
    rows: int = 0
    backend: str = "embedded"
    built_at: str | None = None
    mode: str | None = None  # how the last update ran: "build", "incremental" or "unchanged"


class VectorIndexInfo(BaseModel):
    """An index as the catalog holds it: its definition, owner and last build's state."""

    name: str
    owner: str
    spec: VectorIndexSpec
    state: IndexState = Field(default_factory=IndexState)
