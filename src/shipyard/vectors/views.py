"""Feature views as the source of a vector index (issue #18).

An index over a feature view holds the view's latest row per entity (what
materialization writes online), read from its offline data: the view's source
table at one Delta version, through the same DuckDB query materialization runs.
The id is the view's entity join key; the vector a ``vector[N]`` feature; the
filterable and text columns other features. The index's "table version" is the
source table's version, so updates diff two versions exactly as lake-table indexes
do, and ``build(full=True)`` rebuilds it from the lake.

The view's team owns the index: reading it (queries, ``get``) needs READ there,
declaring and building it WRITE, as for the view itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from shipyard.errors import InvalidArgument, NotFound
from shipyard.features import registry
from shipyard.features.materialize import latest_rows
from shipyard.features.models import FeatureView, vector_dimension
from shipyard.features.offline import ViewQuery
from shipyard.features.offline import connect as duck_connect
from shipyard.features.sources import LakeTables
from shipyard.vectors.models import VectorIndexSpec

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.lake.service import LakeService

VIEW_KIND = "feature_view"
_STRING = "string"


@dataclass(frozen=True)
class ViewSource:
    """One feature view as index rows: its team, join key and column types."""

    view: FeatureView
    owner: str
    join_key: str

    @property
    def types(self) -> dict[str, str]:
        """Column -> type string in the lake's spelling (so one check serves both sources)."""
        out = {self.join_key: "int64"}
        for f in self.view.features:
            dim = vector_dimension(f.dtype)
            out[f.name] = f"fixed_size_list<item:float>[{dim}]" if dim else f.dtype
        return out


def open_view(ctx: ServiceContext, name: str) -> ViewSource:
    """The view ``name`` with its owning team and single join key.

    Raises:
        NotFound: no such view. InvalidArgument: the view has several join keys.
    """
    with ctx.db.connect() as conn:
        defs = registry.load(conn, ctx.catalog)
    view = defs.views.get(name)
    if view is None:
        raise NotFound(
            f"no feature view named '{name}'" + registry.suggest(name, defs.views), view=name
        )
    keys = defs.join_keys(view)
    if len(keys) != 1:
        raise InvalidArgument(
            f"feature view '{name}' has join keys {', '.join(keys)}: a vector index needs one"
        )
    return ViewSource(view, view.owner or ctx.default_team, keys[0])


def view_version(ctx: ServiceContext, lake: LakeService, source: ViewSource) -> int:
    """The latest version of the view's source table."""
    return LakeTables(ctx, lake).open(source.view.source_table).version


def view_rows(
    ctx: ServiceContext, lake: LakeService, source: ViewSource, version: int, cols: list[str]
) -> pa.Table:
    """The latest row per entity at source table ``version``, projected to ``cols``."""
    table = LakeTables(ctx, lake).open(source.view.source_table, version)
    features = [c for c in dict.fromkeys(cols) if c != source.join_key]
    vq = ViewQuery(source.view, table, features, features, [source.join_key])
    con = duck_connect(ctx.settings.home_dir / "tmp" / "duckdb")
    try:
        rows = latest_rows(con, vq)
    finally:
        con.close()
    return rows.select(cols)


def source_asset(spec: VectorIndexSpec) -> tuple[str, str]:
    """The catalog kind and name of an index's source (its owner authorizes the index)."""
    if spec.feature_view is not None:
        return VIEW_KIND, spec.feature_view
    return "table", spec.source
