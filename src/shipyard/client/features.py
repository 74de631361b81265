"""``RemoteFeatureService``: ``FeatureAPI`` over HTTP (definitions and frames need their own wire)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from shipyard.client.ops import Args, RemoteService, build, local
from shipyard.errors import InvalidArgument
from shipyard.features.models import (
    OnlineFeatures,
    PushResult,
    TrainingSet,
)
from shipyard.features.ops import OPS
from shipyard.features.protocol import FeatureAPI
from shipyard.features.wire import (
    ARROW_STREAM,
    frame_to_records,
    from_ipc,
    jsonable,
)

if TYPE_CHECKING:  # frames are made by pyarrow's to_pandas, when asked for
    import pandas as pd

API = "/api/v1/features"


def _entities(entity_df: Any) -> dict[str, Any]:
    if isinstance(entity_df, str):
        return {"entity_source": entity_df}
    if isinstance(entity_df, list):
        return {"entity_rows": jsonable(entity_df)}
    return {"entity_rows": frame_to_records(entity_df)}


class RemoteFeatureService(RemoteService, FeatureAPI, ops=OPS):
    """``FeatureService`` over HTTP; on-demand views are applied in-process only."""

    # -- offline -------------------------------------------------------------------------

    @local(FeatureAPI.get_historical_table)
    def get_historical_table(self, a: Args) -> pa.Table:
        body = {**_entities(a.pop("entity_df")), **a}
        raw = self._http.request(
            "POST", f"{API}/historical", json=body, headers={"accept": ARROW_STREAM}
        )
        return from_ipc(raw)

    @local(FeatureAPI.get_historical_features)
    def get_historical_features(self, a: Args) -> pd.DataFrame:
        return self.get_historical_table(**a).to_pandas()

    @local(FeatureAPI.create_training_set)
    def create_training_set(self, a: Args) -> TrainingSet:
        body = {"name": a.pop("name"), **_entities(a.pop("entity_df")), **a}
        return self._training_set(self._http.post(f"{API}/training-sets", body))

    @local(FeatureAPI.get_training_set)
    def get_training_set(self, a: Args) -> TrainingSet:
        data = self._http.get(f"{API}/training-sets/{a['name']}", version=a["version"])
        return self._training_set(data)

    @local(FeatureAPI.rebuild_training_set)
    def rebuild_training_set(self, a: Args) -> pa.Table:
        version = a["version"]
        raw = self._http.request(
            "POST",
            f"{API}/training-sets/{a['name']}/rebuild",
            params={"version": version} if version is not None else {},
            headers={"accept": ARROW_STREAM},
        )
        return from_ipc(raw)

    def _training_set(self, data: dict[str, Any]) -> TrainingSet:
        from shipyard.client.lake import RemoteLakeService

        lake = build(RemoteLakeService, self._http)
        return TrainingSet(
            **data, _lake_reader=lambda table, version: lake.read(table, version=version)
        )

    # -- online --------------------------------------------------------------------------

    @local(FeatureAPI.get_online_features)
    def get_online_features(self, a: Args) -> OnlineFeatures:
        body = {**a, "entity_rows": jsonable(list(a["entity_rows"]))}
        return OnlineFeatures.from_json(self._http.post(f"{API}/online", body))

    @local(FeatureAPI.push)
    def push(self, a: Args) -> PushResult:
        rows = a["rows"]
        if isinstance(rows, list):
            records = jsonable(rows)
        elif rows is not None and not isinstance(rows, str):
            records = frame_to_records(rows)
        else:
            raise InvalidArgument("push needs a list of rows or a DataFrame")
        return PushResult(**self._http.post(f"{API}/push", {**a, "rows": records}))
