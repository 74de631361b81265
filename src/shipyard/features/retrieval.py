"""Turn resolved feature refs into an offline retrieval or an online read plan.

Both paths share the naming rules (``feature`` or ``view__feature``, no
collisions) and the on-demand wiring (the function sees the short names of its
``view:feature`` inputs and its request fields), so a model sees the same
columns in training and in serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from shipyard.errors import InvalidArgument
from shipyard.features import ondemand, online
from shipyard.features.codec import ValueCodec
from shipyard.features.entities import prepare_entity_rows
from shipyard.features.models import OnDemandFeatureView, arrow_type
from shipyard.features.offline import ViewQuery, check_source
from shipyard.features.pit import point_in_time_join
from shipyard.features.registry import Definitions
from shipyard.features.sources import LakeTables


@dataclass
class _Selection:
    """Which (view, feature) pairs to fetch and under which column names."""

    fetch: dict[str, list[tuple[str, str]]]  # batch view -> [(feature, column)]
    on_demand: list[tuple[OnDemandFeatureView, dict[str, str], list[tuple[str, str]]]]
    out_names: list[str]
    hidden: list[str]


def _name(view: str, feat: str, full: bool) -> str:
    return f"{view}__{feat}" if full else feat


def select(defs: Definitions, pairs: list[tuple[str, str]], full: bool) -> _Selection:
    fetch: dict[str, list[tuple[str, str]]] = {}
    out_names: list[str] = []
    od_out: dict[str, list[tuple[str, str]]] = {}
    for view, feat in pairs:
        col = _name(view, feat, full)
        if col in out_names:
            raise InvalidArgument(
                f"feature name '{col}' is requested from two views; pass full_feature_names=True",
                feature=col,
            )
        out_names.append(col)
        if view in defs.odfvs:
            od_out.setdefault(view, []).append((feat, col))
        else:
            fetch.setdefault(view, []).append((feat, col))
    hidden: list[str] = []
    on_demand = []
    for view, outs in od_out.items():
        odfv = defs.odfvs[view]
        wiring: dict[str, str] = {}
        for ref in odfv.inputs:
            src, sep, feat = ref.partition(":")
            if not sep:
                wiring[ref] = ref  # a request field, read from the entity rows
                continue
            have = dict(fetch.get(src, []))
            if feat not in have:
                have[feat] = f"__in__{src}__{feat}"
                fetch.setdefault(src, []).append((feat, have[feat]))
                hidden.append(have[feat])
            wiring[feat] = have[feat]
        on_demand.append((odfv, wiring, outs))
    return _Selection(fetch, on_demand, out_names, hidden)


class Retrieval:
    """One ``get_historical_features`` call: views to join, then on-demand views to run."""

    def __init__(
        self,
        defs: Definitions,
        pairs: list[tuple[str, str]],
        *,
        full_feature_names: bool,
        lake: LakeTables,
        default_team: str = "default",
        pins: dict[str, int] | None = None,
    ) -> None:
        self.defs = defs
        #: Source table versions to read (a rebuild); the newest otherwise.
        self.pins = pins or {}
        self.timestamp_column: str | None = None
        self.pairs = pairs
        self.sel = select(defs, pairs, full_feature_names)
        self.lake = lake
        self.sources: dict[str, int] = {}
        views = [defs.views[v] for v in self.sel.fetch]
        self.view_names = [*self.sel.fetch, *(od.name for od, _, _ in self.sel.on_demand)]
        self.teams = {v.owner or default_team for v in views} | {
            od.owner or default_team for od, _, _ in self.sel.on_demand
        }

    @property
    def out_names(self) -> list[str]:
        return self.sel.out_names

    def join_keys(self) -> list[str]:
        keys: list[str] = []
        for v in self.sel.fetch:
            keys += [k for k in self.defs.join_keys(self.defs.views[v]) if k not in keys]
        return keys

    def run(
        self,
        con: duckdb.DuckDBPyConnection,
        data: Any,
        timestamp_column: str | None,
        filter_created: bool,
    ) -> pa.Table:
        entity, self.timestamp_column = prepare_entity_rows(
            data, self.join_keys(), timestamp_column
        )
        taken = set(entity.column_names)
        clash = [c for c in self.out_names if c in taken]
        if clash:
            raise InvalidArgument(
                f"entity rows already have column(s) {', '.join(clash)}; rename them or pass"
                " full_feature_names=True"
            )
        queries = []
        for name, feats in self.sel.fetch.items():
            view = self.defs.views[name]
            table = self.lake.open(view.source_table, self.pins.get(view.source_table))
            keys = self.defs.join_keys(view)
            check_source(view, table.schema, keys)
            self.sources[view.source_table] = table.version
            queries.append(
                ViewQuery(view, table, [f for f, _ in feats], [c for _, c in feats], keys)
            )
        result = point_in_time_join(con, entity, queries, filter_by_created=filter_created)
        if not self.sel.on_demand:
            return result
        return self._on_demand(result)

    def _on_demand(self, result: pa.Table) -> pa.Table:
        for odfv, wiring, outs in self.sel.on_demand:
            missing = [c for c in wiring.values() if c not in result.column_names]
            if missing:
                raise InvalidArgument(
                    f"on-demand feature view '{odfv.name}' needs column(s) {', '.join(missing)}"
                    " in the entity rows",
                    missing=missing,
                )
            inputs = pd.DataFrame(
                {arg: result.column(col).to_pandas() for arg, col in wiring.items()}
            )
            out = ondemand.run(odfv.function, inputs, odfv.feature_names, odfv.name)
            types = {f.name: f.dtype for f in odfv.features}
            for feat, col in outs:
                wanted = arrow_type(types[feat])
                try:
                    values = pa.Array.from_pandas(out[feat], type=wanted)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise InvalidArgument(
                        f"on-demand feature '{odfv.name}:{feat}' is not {types[feat]}: {exc}"
                    ) from None
                result = result.append_column(col, values)
        return result.drop_columns(self.sel.hidden)


def build_read_plan(
    defs: Definitions, pairs: list[tuple[str, str]], full: bool, default_team: str = "default"
) -> online.ReadPlan:
    """Compile the online lookup of ``pairs``."""
    sel = select(defs, pairs, full)
    views = []
    join_keys: list[str] = []
    teams = set()
    for name, feats in sel.fetch.items():
        view = defs.views[name]
        if not view.online:
            raise InvalidArgument(f"feature view '{name}' is not online (online=False)")
        keys = defs.join_keys(view)
        key_types = {
            k: defs.entities[e].value_type
            for e in view.entities
            for k in defs.entities[e].join_keys
        }
        join_keys += [k for k in keys if k not in join_keys]
        codec = ValueCodec(view.features)
        positions = [codec.names.index(f) for f, _ in feats]
        ttl = view.ttl_seconds
        views.append(
            online.ViewRead(
                ns=online.namespace(view),
                keys=keys,
                key_of=online.key_function(keys, [key_types[k] for k in keys]),
                codec=codec,
                positions=positions,
                out_names=[c for _, c in feats],
                ttl_us=int(ttl * 1_000_000) if ttl else None,
            )
        )
        teams.add(view.owner or default_team)
    on_demand = []
    for odfv, wiring, outs in sel.on_demand:
        on_demand.append(online.OnDemandRead(odfv, wiring, outs))
        teams.add(odfv.owner or default_team)
    return online.ReadPlan(
        views=views,
        join_keys=join_keys,
        teams=sorted(teams),
        on_demand=on_demand,
        hidden=set(sel.hidden),
    )
