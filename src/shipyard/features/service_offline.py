"""Offline: point-in-time retrieval and training sets saved as Delta datasets."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from shipyard.errors import InvalidArgument, NotFound
from shipyard.features import registry
from shipyard.features._base import FeatureServiceBase
from shipyard.features.models import FeatureView, TrainingSet
from shipyard.features.offline import connect as duck_connect
from shipyard.features.registry import Definitions
from shipyard.features.retrieval import Retrieval
from shipyard.security.models import Permission


class OfflineMixin(FeatureServiceBase):
    # -- offline ---------------------------------------------------------------------------

    def _entity_input(self, entity_df: Any) -> Any:
        if isinstance(entity_df, list):
            return pd.DataFrame.from_records(entity_df)
        if not isinstance(entity_df, str):
            return entity_df
        text = entity_df.strip()
        if " " not in text and "\n" not in text:
            return self._lake.read(text)
        return self._lake_service().sql(text)

    def _retrieval(self, defs: Definitions, pairs: list[tuple[str, str]], full: bool) -> Retrieval:
        r = Retrieval(
            defs,
            pairs,
            full_feature_names=full,
            lake=self._lake,
            default_team=self._ctx.default_team,
        )
        for team in sorted(r.teams):
            self._ctx.require(Permission.READ, team, action="features.get_historical_features")
        return r

    def get_historical_features(
        self,
        entity_df: Any,
        features: list[str] | None = None,
        feature_service: str | None = None,
        *,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        timestamp_column: str | None = None,
    ) -> pd.DataFrame:
        """Point-in-time correct feature values for each entity row (see ``offline``).

        Args:
            entity_df: pandas, Arrow, a lake table name, or SQL over lake tables; holds the
                join keys and a timestamp column (``event_timestamp`` by default).
            features: ``"view:feature"`` refs (or ``"view:*"``); or ``feature_service``.
            full_feature_names: name columns ``view__feature``.
            filter_by_created_timestamp: only rows created at or before the entity time count.

        Returns:
            The entity rows in input order, one output row per input row, plus the features.

        Raises:
            NotFound: an unknown feature, view or service (with near names).
            InvalidArgument: a missing join key or timestamp column, mixed time zones.
        """
        table, _ = self._historical(
            entity_df,
            features,
            feature_service,
            full_feature_names,
            filter_by_created_timestamp,
            timestamp_column,
        )
        # One conversion; Arrow buffers are released column by column as pandas takes them.
        return table.to_pandas(split_blocks=True, self_destruct=True)

    def get_historical_table(
        self,
        entity_df: Any,
        features: list[str] | None = None,
        feature_service: str | None = None,
        *,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        timestamp_column: str | None = None,
    ) -> pa.Table:
        """``get_historical_features`` as an Arrow table (no pandas conversion)."""
        table, _ = self._historical(
            entity_df,
            features,
            feature_service,
            full_feature_names,
            filter_by_created_timestamp,
            timestamp_column,
        )
        return table

    def _historical(
        self,
        entity_df: Any,
        features: list[str] | None,
        feature_service: str | None,
        full: bool,
        filter_created: bool,
        timestamp_column: str | None,
    ) -> tuple[pa.Table, Retrieval]:
        defs = self._defs()
        pairs = registry.resolve(defs, features, feature_service)
        r = self._retrieval(defs, pairs, full)
        data = self._entity_input(entity_df)
        con = duck_connect(self._ctx.settings.home_dir / "tmp" / "duckdb")
        try:
            table = r.run(con, data, timestamp_column, filter_created)
        finally:
            con.close()
        return table, r

    def create_training_set(
        self,
        name: str,
        entity_df: Any,
        features: list[str] | None = None,
        feature_service: str | None = None,
        *,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        timestamp_column: str | None = None,
        owner: str | None = None,
        description: str = "",
    ) -> TrainingSet:
        """Retrieve features like ``get_historical_features`` and save them as ``datasets.<name>``.

        The catalog gets ``training_set:<name>@<version>`` with lineage from each feature
        view and each source table at the exact version read.

        Raises:
            as ``get_historical_features``; PermissionDenied without write on ``owner``.
        """
        if not name.replace("_", "").isalnum():
            raise InvalidArgument(f"training set name {name!r} must be letters, digits and '_'")
        with self._ctx.db.connect() as conn:
            stored = self._ctx.catalog.find(conn, "training_set", name)
        # a new version of an existing set is authorized against its stored owner
        team = self._ctx.require_owner(
            stored.owner if stored is not None else None,
            owner,
            action="features.create_training_set",
            asset=f"training_set:{name}",
        )
        table, r = self._historical(
            entity_df,
            features,
            feature_service,
            full_feature_names,
            filter_by_created_timestamp,
            timestamp_column,
        )
        dataset = f"datasets.{name}"
        table_version = self._lake.write(
            dataset,
            table,
            owner=team,
            operation="training_set",
            sources=[f"table:{t}@{v}" for t, v in r.sources.items() if self._table_known(t)],
        )
        props = _training_props(r, dataset, table_version, table.num_rows, feature_service)
        props["options"] = {
            "full_feature_names": full_feature_names,
            "filter_by_created_timestamp": filter_by_created_timestamp,
            "timestamp_column": r.timestamp_column,
        }
        with self._ctx.mutation(
            "features.create_training_set", team=team, asset=f"training_set:{name}"
        ) as m:
            current = self._ctx.catalog.find(m.conn, "training_set", name)
            if current is not None and current.owner != team:  # a transfer, authorized above
                self._ctx.catalog.update(
                    m.conn, current, description=None, owner=team, tags=None, properties=None
                )
            asset = self._ctx.catalog.upsert(
                m.conn,
                kind="training_set",
                name=name,
                owner=team,
                created_by=self.principal.name,
                description=description,
                properties=props,
            )
            self._training_lineage(m.conn, asset, r, dataset, table_version)
            m.asset = f"training_set:{name}@{asset.version}"
            m.details = {"rows": table.num_rows, "table_version": table_version}
        return self._training_set(name, asset.version, props)

    def _table_known(self, name: str) -> bool:
        with self._ctx.db.connect() as conn:
            return self._ctx.catalog.find(conn, "table", name) is not None

    def _training_lineage(
        self, conn: Any, asset: Any, r: Retrieval, dataset: str, table_version: int
    ) -> None:
        cat, who = self._ctx.catalog, self.principal.name
        for view in r.view_names:
            kind = "feature_view" if view in r.defs.views else "on_demand_feature_view"
            src = cat.find(conn, kind, view)
            if src is not None:
                cat.add_edge(conn, src, asset, operation="training_set", created_by=who)
        for table_name, version in r.sources.items():
            src = cat.find(conn, "table", table_name)
            if src is not None:
                cat.add_edge(
                    conn,
                    src,
                    asset,
                    operation="training_set",
                    created_by=who,
                    source_version=version,
                )
        out = cat.find(conn, "table", dataset)
        if out is not None:
            cat.add_edge(
                conn, asset, out, operation="write", created_by=who, target_version=table_version
            )

    def _training_set(self, name: str, version: int, props: dict[str, Any]) -> TrainingSet:
        return TrainingSet(
            name=name,
            table=props["table"],
            version=version,
            table_version=props["table_version"],
            num_rows=props["num_rows"],
            features=list(props["features"]),
            sources=dict(props["sources"]),
            _lake_reader=self._lake.read,
        )

    def rebuild_training_set(self, name: str, version: int | None = None) -> pa.Table:
        """Compute a saved training set again from the exact inputs it recorded.

        The entity rows come from the saved table; the sources are read at the
        recorded Delta versions and the views as they were then, so the result equals
        the saved table even after the sources have moved on.

        Raises:
            NotFound: no such training set, version, or source table version.
        """
        ts = self.get_training_set(name, version)
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.get(conn, "training_set", name)
            props = next(
                v.properties
                for v in self._ctx.catalog.versions(conn, asset)
                if v.version == ts.version
            )
            defs = _defs_at(
                conn,
                self._ctx.catalog,
                registry.load(conn, self._ctx.catalog),
                props.get("views", {}),
            )
        saved = self._lake.read(ts.table, ts.table_version)
        entity = saved.drop_columns([c for c in ts.features if c in saved.column_names])
        options = props.get("options", {})
        pairs = [tuple(ref.split(":", 1)) for ref in props["feature_refs"]]
        r = Retrieval(
            defs,
            pairs,
            full_feature_names=bool(options.get("full_feature_names")),
            lake=self._lake,
            default_team=self._ctx.default_team,
            pins=ts.sources,
        )
        con = duck_connect(self._ctx.settings.home_dir / "tmp" / "duckdb")
        try:
            return r.run(
                con,
                entity,
                options.get("timestamp_column"),
                bool(options.get("filter_by_created_timestamp")),
            )
        finally:
            con.close()

    def get_training_set(self, name: str, version: int | None = None) -> TrainingSet:
        """A saved training set (the newest version by default). Raises: NotFound."""
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.get(conn, "training_set", name)
            self._ctx.require(Permission.READ, asset.owner, action="features.get_training_set")
            props = asset.properties
            if version is not None and version != asset.version:
                found = [v for v in self._ctx.catalog.versions(conn, asset) if v.version == version]
                if not found:
                    raise NotFound(f"training set '{name}' has no version {version}")
                props = found[0].properties
        return self._training_set(name, version or asset.version, props)


def _defs_at(conn: Any, catalog: Any, defs: Definitions, views: dict[str, Any]) -> Definitions:
    """``defs`` with each feature view as it was at the recorded catalog version."""
    for name, version in views.items():
        asset = catalog.find(conn, "feature_view", name) if version else None
        if asset is None:
            continue
        found = [v for v in catalog.versions(conn, asset) if v.version == version]
        if found and "spec" in found[0].properties:
            spec = found[0].properties["spec"]
            defs.views[name] = FeatureView.from_spec(name, spec, asset.owner, asset.tags)
    return defs


def _training_props(
    r: Retrieval, dataset: str, table_version: int, num_rows: int, feature_service: str | None
) -> dict[str, Any]:
    """What a training set records: enough to rebuild it bit for bit."""
    return {
        "table": dataset,
        "table_version": table_version,
        "num_rows": num_rows,
        "features": r.out_names,
        "feature_refs": [f"{v}:{f}" for v, f in r.pairs],
        "feature_service": feature_service,
        "sources": r.sources,
        "views": {v: r.defs.versions.get(("feature_view", v)) for v in r.view_names},
    }
