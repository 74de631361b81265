"""``RemoteFeatureService``: ``FeatureAPI`` over HTTP (definitions and frames need their own wire)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from shipyard.client.ops import RemoteService, build
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
        body = {
            **_entities(entity_df),
            "features": features,
            "feature_service": feature_service,
            "full_feature_names": full_feature_names,
            "filter_by_created_timestamp": filter_by_created_timestamp,
            "timestamp_column": timestamp_column,
        }
        raw = self._http.request(
            "POST", f"{API}/historical", json=body, headers={"accept": ARROW_STREAM}
        )
        return from_ipc(raw)

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
        return self.get_historical_table(
            entity_df,
            features,
            feature_service,
            full_feature_names=full_feature_names,
            filter_by_created_timestamp=filter_by_created_timestamp,
            timestamp_column=timestamp_column,
        ).to_pandas()

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
        body = {
            "name": name,
            **_entities(entity_df),
            "features": features,
            "feature_service": feature_service,
            "full_feature_names": full_feature_names,
            "filter_by_created_timestamp": filter_by_created_timestamp,
            "timestamp_column": timestamp_column,
            "owner": owner,
            "description": description,
        }
        return self._training_set(self._http.post(f"{API}/training-sets", body))

    def get_training_set(self, name: str, version: int | None = None) -> TrainingSet:
        return self._training_set(self._http.get(f"{API}/training-sets/{name}", version=version))

    def rebuild_training_set(self, name: str, version: int | None = None) -> pa.Table:
        params = {"version": version} if version is not None else {}
        raw = self._http.request(
            "POST",
            f"{API}/training-sets/{name}/rebuild",
            params=params,
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

    def get_online_features(
        self,
        features: list[str] | None = None,
        *,
        feature_service: str | None = None,
        entity_rows: Sequence[dict[str, Any]],
        full_feature_names: bool = False,
    ) -> OnlineFeatures:
        body = {
            "features": features,
            "feature_service": feature_service,
            "entity_rows": jsonable(list(entity_rows)),
            "full_feature_names": full_feature_names,
        }
        return OnlineFeatures.from_json(self._http.post(f"{API}/online", body))

    def push(self, push_source: str, rows: Any, *, to: str = "online_and_offline") -> PushResult:
        if isinstance(rows, list):
            records = jsonable(rows)
        elif rows is not None and not isinstance(rows, str):
            records = frame_to_records(rows)
        else:
            raise InvalidArgument("push needs a list of rows or a DataFrame")
        body = {"push_source": push_source, "rows": records, "to": to}
        return PushResult(**self._http.post(f"{API}/push", body))
