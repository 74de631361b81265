"""Every mutating route of the app, with one concrete request aimed at team ``ml``'s assets.

``MUTATING_ROUTES`` maps ``"METHOD /path/template"`` (as the app declares it) to
``(path, json body)``; ``{run}`` and ``{exp}`` are the seeded run and experiment ids.
A new mutating route must add itself here: ``test_every_mutating_route_is_in_the_table``
fails otherwise. Most requests are ``POST``-style actions on an existing ``ml`` asset;
creations name ``ml`` as the owner (or the default team where the route has no owner).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from shipyard.features import Feature, FeatureView
from shipyard.features.wire import definition_to_wire

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

V1 = "/api/v1"
MF = "/api/2.0/mlflow"
ROWS = [{"customer_id": 9, "x": 0.9, "event_ts": "2026-01-03T00:00:00Z"}]


#: A desired state that repoints team ``ml``'s deployment (platform as code).
ML_DESIRED = {
    "resources": [
        {
            "kind": "deployment",
            "name": "ml_dep",
            "spec": {"owner": "ml", "variants": [{"name": "b", "model": "ml_model/1"}]},
            "source": "platform.yaml:1",
        }
    ]
}


def ml_view() -> FeatureView:
    """Team ``ml``'s feature view, as seeded."""
    return FeatureView(
        name="ml_view",
        entities=["ml_customer"],
        source="silver.ml_clean",
        timestamp_field="event_ts",
        features=[Feature("x", "float64")],
        owner="ml",
    )


def ml_pipeline() -> dict[str, Any]:
    """Team ``ml``'s pipeline, as seeded (one run queued: ``{pipe_run}``, ``{pipe_job}``)."""
    return {
        "name": "ml_pipe",
        "owner": "ml",
        "partitioned": "daily",
        "steps": [
            {"name": "refresh", "action": "lake.refresh", "args": {"table": "gold.ml_daily"}}
        ],
    }


def ml_embeddings() -> Any:
    """Team ``ml``'s embeddings table: 20 rows of 4-dimensional vectors."""
    import pyarrow as pa

    vectors = [[float(i), 1.0, 0.0, -1.0] for i in range(20)]
    return pa.table({"doc_id": list(range(20)), "emb": pa.array(vectors, pa.list_(pa.float32()))})


def ml_vector_index(**changes: Any) -> dict[str, Any]:
    """Team ``ml``'s vector index over its embeddings, as seeded (a mapping, as JSON sends it)."""
    spec = {
        "name": "ml_vectors",
        "table": "gold.ml_embeddings",
        "id_column": "doc_id",
        "vector_column": "emb",
        "dimension": 4,
        "metric": "l2",
    }
    return {**spec, **changes}


#: ml's view rewritten under the caller's team name: the attack of finding 6.
VIEW = definition_to_wire(dataclasses.replace(ml_view(), owner="risk", ttl=timedelta(seconds=1)))
SQL_DEF = {"name": "silver.ml_clean", "sql": "SELECT * FROM bronze.ml_events", "owner": "risk"}

#: Names of team ml's assets: none may reach a caller who did not send it.
ML_NAMES = (
    "ml_events",
    "ml_clean",
    "ml_daily",
    "ml_view",
    "ml_customer",
    "ml_exp",
    "ml_run",
    "ml_model",
    "ml_dep",
    "ml_topic",
    "ml_pipe",
    "ml_embeddings",
    "ml_vectors",
    "secret-ml-bytes",
)

Request = tuple[str, dict[str, Any] | None]

MUTATING_ROUTES: dict[str, Request] = {
    # -- serving
    "POST /api/v1/deployments/{name}/predict": (
        f"{V1}/deployments/ml_dep/predict",
        {"inputs": [{"x": 1.0}]},
    ),
    "POST /api/v1/deployments": (
        f"{V1}/deployments",
        {"name": "risk_dep", "variants": [{"name": "a", "model": "ml_model/1"}], "owner": "ml"},
    ),
    "PATCH /api/v1/deployments/{name}": (
        f"{V1}/deployments/ml_dep",
        {"variants": [{"name": "a", "model": "ml_model/1"}]},
    ),
    "PUT /api/v1/deployments/{name}": (
        f"{V1}/deployments/ml_dep",
        {"variants": [{"name": "a", "model": "ml_model/1"}]},
    ),
    "DELETE /api/v1/deployments/{name}": (f"{V1}/deployments/ml_dep", None),
    "POST /api/v1/deployments/{name}/rollback": (f"{V1}/deployments/ml_dep/rollback", {}),
    "POST /api/v1/deployments/{name}/canary": (
        f"{V1}/deployments/ml_dep/canary",
        {"variant": {"name": "b", "model": "ml_model/1"}, "steps": [50, 100]},
    ),
    "POST /api/v1/deployments/{name}/canary/advance": (
        f"{V1}/deployments/ml_dep/canary/advance",
        {},
    ),
    "POST /api/v1/deployments/{name}/canary/rollback": (
        f"{V1}/deployments/ml_dep/canary/rollback",
        {},
    ),
    "POST /api/v1/deployments/-/score-table": (
        f"{V1}/deployments/-/score-table",
        {"model": "ml_model/1", "source": "silver.ml_clean", "output": "silver.ml_scores"},
    ),
    "POST /api/v1/deployments/-/export": (f"{V1}/deployments/-/export", {"model": "ml_model/1"}),
    "POST /api/v1/deployments/{name}/export": (f"{V1}/deployments/ml_dep/export", {}),
    "POST /api/v1/deployments/{name}/ground-truth": (
        f"{V1}/deployments/ml_dep/ground-truth",
        {"outcomes": [{"request_id": "r1", "label": 1}]},
    ),
    "POST /api/v1/deployments/-/flush-log": (f"{V1}/deployments/-/flush-log", {}),
    "POST /api/v1/audit/verify": (f"{V1}/audit/verify", {}),
    "POST /v2/models/{name}/versions/{version}/infer": (
        "/v2/models/ml_dep/versions/1/infer",
        {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
    ),
    "POST /v2/models/{name}/infer": (
        "/v2/models/ml_dep/infer",
        {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
    ),
    # -- features
    "POST /api/v1/features/online": (
        f"{V1}/features/online",
        {"features": ["ml_view:x"], "entity_rows": [{"customer_id": 1}]},
    ),
    "POST /api/v1/features/push": (
        f"{V1}/features/push",
        {"push_source": "ml_push", "rows": ROWS},
    ),
    "POST /api/v1/features/plan": (f"{V1}/features/plan", {"definitions": [VIEW]}),
    "POST /api/v1/features/apply": (f"{V1}/features/apply", {"definitions": [VIEW]}),
    "POST /api/v1/features/materialize": (f"{V1}/features/materialize", {"views": ["ml_view"]}),
    "POST /api/v1/features/historical": (
        f"{V1}/features/historical",
        {
            "features": ["ml_view:x"],
            "entity_rows": [{"customer_id": 1, "event_timestamp": "2026-01-05T00:00:00Z"}],
        },
    ),
    "POST /api/v1/features/training-sets": (
        f"{V1}/features/training-sets",
        {
            "name": "ml_ts",
            "features": ["ml_view:x"],
            "entity_source": "silver.ml_clean",
            "owner": "ml",
        },
    ),
    "POST /api/v1/features/training-sets/{name}/rebuild": (
        f"{V1}/features/training-sets/ml_ts/rebuild",
        {},
    ),
    # -- catalog
    "POST /api/v1/catalog/assets": (
        f"{V1}/catalog/assets",
        {"ref": "table:silver.ml_clean", "owner": "risk", "description": "mine"},
    ),
    "PATCH /api/v1/catalog/assets/{ref:path}": (
        f"{V1}/catalog/assets/table:silver.ml_clean",
        {"description": "defaced", "tags": ["pwned"]},
    ),
    # -- security
    "POST /api/v1/principals": (
        f"{V1}/principals",
        {"name": "sneaky", "team": "ml", "role": "admin"},
    ),
    "POST /api/v1/principals/{name}/roles": (
        f"{V1}/principals/risk_editor/roles",
        {"team": "ml", "role": "admin"},
    ),
    "DELETE /api/v1/principals/{name}/roles/{team}": (f"{V1}/principals/ml_admin/roles/ml", None),
    "POST /api/v1/tokens": (f"{V1}/tokens", {"name": "stolen", "principal": "ml_admin"}),
    "DELETE /api/v1/tokens/{token_id}": (f"{V1}/tokens/{{ml_token}}", None),
    # -- lake
    "POST /api/v1/lake/tables/{name}/rows": (
        f"{V1}/lake/tables/bronze.ml_events/rows",
        {"records": ROWS},
    ),
    "POST /api/v1/lake/sql": (f"{V1}/lake/sql", {"query": "SELECT * FROM silver.ml_clean"}),
    "POST /api/v1/lake/definitions": (f"{V1}/lake/definitions", {"definition": SQL_DEF}),
    "POST /api/v1/lake/tables/{name}/refresh": (f"{V1}/lake/tables/silver.ml_clean/refresh", {}),
    "POST /api/v1/lake/refresh": (f"{V1}/lake/refresh", {"full": False}),
    "POST /api/v1/lake/tables/{name}/restore": (
        f"{V1}/lake/tables/bronze.ml_events/restore",
        {"version": 0},
    ),
    "POST /api/v1/lake/tables/{name}/optimize": (
        f"{V1}/lake/tables/bronze.ml_events/optimize",
        {},
    ),
    "POST /api/v1/lake/tables/{name}/vacuum": (
        f"{V1}/lake/tables/bronze.ml_events/vacuum",
        {"retention_hours": 0, "force": True},
    ),
    "POST /api/v1/lake/tables/{name}/changes": (
        f"{V1}/lake/tables/silver.ml_clean/changes",
        {
            "records": [{"customer_id": 1, "x": 0.0, "event_ts": "2026-01-09T00:00:00Z"}],
            "keys": ["customer_id"],
            "sequence_by": "event_ts",
        },
    ),
    "PATCH /api/v1/lake/tables/{name}/columns/{column}": (
        f"{V1}/lake/tables/silver.ml_clean/columns/x",
        {"description": "defaced"},
    ),
    # -- tracking
    "POST /api/v1/tracking/experiments": (
        f"{V1}/tracking/experiments",
        {"name": "ml_exp2", "owner": "ml"},
    ),
    "PATCH /api/v1/tracking/experiments/{experiment_id}": (
        f"{V1}/tracking/experiments/{{exp}}",
        {"name": "renamed"},
    ),
    "POST /api/v1/tracking/runs": (f"{V1}/tracking/runs", {"experiment_id": "{exp}"}),
    "POST /api/v1/tracking/runs/search": (
        f"{V1}/tracking/runs/search",
        {"experiments": ["{exp}"]},
    ),
    "POST /api/v1/tracking/runs/compare": (
        f"{V1}/tracking/runs/compare",
        {"run_ids": ["{run}"]},
    ),
    "PATCH /api/v1/tracking/runs/{run_id}": (
        f"{V1}/tracking/runs/{{run}}",
        {"status": "FAILED"},
    ),
    "DELETE /api/v1/tracking/runs/{run_id}": (f"{V1}/tracking/runs/{{run}}", None),
    "POST /api/v1/tracking/runs/{run_id}/restore": (f"{V1}/tracking/runs/{{run}}/restore", {}),
    "POST /api/v1/tracking/runs/{run_id}/log": (
        f"{V1}/tracking/runs/{{run}}/log",
        {"params": {"p": "1"}, "metrics": [{"key": "m", "value": 1.0}], "tags": {"t": "v"}},
    ),
    "DELETE /api/v1/tracking/runs/{run_id}/tags/{key:path}": (
        f"{V1}/tracking/runs/{{run}}/tags/mlflow.runName",
        None,
    ),
    "POST /api/v1/tracking/runs/{run_id}/inputs": (
        f"{V1}/tracking/runs/{{run}}/inputs",
        {"ref": "table:silver.risk_clean"},
    ),
    "PUT /api/v1/tracking/runs/{run_id}/artifacts/content": (
        f"{V1}/tracking/runs/{{run}}/artifacts/content?path=notes.txt",
        None,
    ),
    "POST /api/v1/tracking/runs/{run_id}/models": (
        f"{V1}/tracking/runs/{{run}}/models",
        {"artifact_path": "model"},
    ),
    # -- registry
    "POST /api/v1/registry/models": (
        f"{V1}/registry/models",
        {"name": "ml_model2", "owner": "ml"},
    ),
    "PATCH /api/v1/registry/models/{name}": (
        f"{V1}/registry/models/ml_model",
        {"description": "defaced"},
    ),
    "DELETE /api/v1/registry/models/{name}": (f"{V1}/registry/models/ml_model", None),
    "POST /api/v1/registry/models/{name}/versions": (
        f"{V1}/registry/models/ml_model/versions",
        {"source": "runs:/{run}/notes.txt", "run_id": "{run}"},
    ),
    "PATCH /api/v1/registry/models/{name}/versions/{version}": (
        f"{V1}/registry/models/ml_model/versions/1",
        {"description": "defaced"},
    ),
    "DELETE /api/v1/registry/models/{name}/versions/{version}": (
        f"{V1}/registry/models/ml_model/versions/1",
        None,
    ),
    "PUT /api/v1/registry/models/{name}/aliases/{alias}": (
        f"{V1}/registry/models/ml_model/aliases/champion",
        {"version": 1},
    ),
    "DELETE /api/v1/registry/models/{name}/aliases/{alias}": (
        f"{V1}/registry/models/ml_model/aliases/champion",
        None,
    ),
    "PUT /api/v1/registry/policies/{alias}": (
        f"{V1}/registry/policies/champion",
        {"name": "ml_model", "protected": False},
    ),
    "POST /api/v1/registry/promotions/{request_id}/approve": (
        f"{V1}/registry/promotions/nope/approve",
        {},
    ),
    "POST /api/v1/registry/promotions/{request_id}/reject": (
        f"{V1}/registry/promotions/nope/reject",
        {},
    ),
    # -- events
    "POST /api/v1/events/topics": (
        f"{V1}/events/topics",
        {"name": "ml_topic", "owner": "risk", "description": "mine"},
    ),
    "POST /api/v1/events/topics/{topic}/records": (
        f"{V1}/events/topics/ml_topic/records",
        {"records": [{"a": 2}]},
    ),
    "POST /api/v1/events/topics/{topic}/groups/{group}/read": (
        f"{V1}/events/topics/ml_topic/groups/g/read",
        {},
    ),
    "POST /api/v1/events/topics/{topic}/groups/{group}/commit": (
        f"{V1}/events/topics/ml_topic/groups/g/commit",
        {"offset": 1},
    ),
    # -- pipelines and jobs
    "POST /api/v1/pipelines/plan": (
        f"{V1}/pipelines/plan",
        {"pipelines": [{**ml_pipeline(), "owner": "risk"}]},
    ),
    "POST /api/v1/pipelines/apply": (
        f"{V1}/pipelines/apply",
        {"pipelines": [{**ml_pipeline(), "owner": "risk", "description": "mine"}]},
    ),
    "POST /api/v1/pipelines/{name}/runs": (f"{V1}/pipelines/ml_pipe/runs", {}),
    "POST /api/v1/pipelines/{name}/backfills": (
        f"{V1}/pipelines/ml_pipe/backfills",
        {"start": "2026-01-01", "end": "2026-01-03"},
    ),
    "POST /api/v1/pipelines/{name}/pause": (f"{V1}/pipelines/ml_pipe/pause", None),
    "POST /api/v1/pipelines/{name}/resume": (f"{V1}/pipelines/ml_pipe/resume", None),
    "POST /api/v1/pipelines/-/runs/{run_id}/cancel": (
        f"{V1}/pipelines/-/runs/{{pipe_run}}/cancel",
        None,
    ),
    "POST /api/v1/jobs/{job_id}/cancel": (f"{V1}/jobs/{{pipe_job}}/cancel", None),
    "POST /api/v1/jobs/prune": (f"{V1}/jobs/prune", {"dry_run": False}),  # admins of every team
    # -- vectors
    "POST /api/v1/vectors/plan": (
        f"{V1}/vectors/plan",
        {"specs": [ml_vector_index(name="risk_vectors")]},
    ),
    "POST /api/v1/vectors/apply": (
        f"{V1}/vectors/apply",
        {"specs": [ml_vector_index(description="mine")]},
    ),
    "POST /api/v1/vectors/{name}/build": (f"{V1}/vectors/ml_vectors/build", {"full": True}),
    "POST /api/v1/vectors/{name}/query": (
        f"{V1}/vectors/ml_vectors/query",
        {"vector": [0.0, 1.0, 0.0, -1.0], "k": 3},
    ),
    # -- OpenLineage events in: an external dataset created for team ml
    "POST /api/v1/lineage": (
        f"{V1}/lineage?owner=ml",
        {
            "eventType": "COMPLETE",
            "eventTime": "2026-12-05T10:00:00Z",
            "producer": "https://example.com/etl",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": "0b6f4f4e-5f39-4a53-9d0e-0d0f8d7a3c11"},
            "job": {"namespace": "etl", "name": "ml_job"},
            "inputs": [{"namespace": "pg://db", "name": "ml_in"}],
            "outputs": [{"namespace": "s3://ml", "name": "ml_out"}],
        },
    ),
    # -- backups (admins of every team only)
    "POST /api/v1/backups": (f"{V1}/backups", None),
    "POST /api/v1/backups/-/prune": (f"{V1}/backups/-/prune", {}),
    "POST /api/v1/backups/{point_id}/verify": (
        f"{V1}/backups/20261205T220000000Z-1a2b3c4d/verify",
        None,
    ),
    # -- environments: promotion out of this (environment-less) project into prod
    "POST /api/v1/environments/{target}/models/{name}/versions/{version}": (
        f"{V1}/environments/prod/models/ml_model/versions/1",
        {"comment": "ship it"},
    ),
    "POST /api/v1/environments/{target}/definitions": (
        f"{V1}/environments/prod/definitions",
        {"digest": "0" * 32},
    ),
    "POST /api/v1/environments/-/promotions/{request_id}/approve": (
        f"{V1}/environments/-/promotions/0123456789abcdef/approve",
        {},
    ),
    "POST /api/v1/environments/-/promotions/{request_id}/reject": (
        f"{V1}/environments/-/promotions/0123456789abcdef/reject",
        {},
    ),
    # -- training
    "POST /api/v1/training/jobs": (
        f"{V1}/training/jobs",
        {"function": "shipyard.pipelines.builtin:echo", "team": "ml", "experiment": "ml_exp"},
    ),
    "POST /api/v1/training/jobs/{job_id}/cancel": (
        f"{V1}/training/jobs/{{train_job}}/cancel",
        None,
    ),
    "POST /api/v1/training/studies": (
        f"{V1}/training/studies",
        {
            "function": "shipyard.pipelines.builtin:echo",
            "space": {"x": {"type": "int", "low": 0, "high": 1}},
            "experiment": "ml_exp",
            "n_trials": 1,
        },
    ),
    # -- MLflow REST API
    f"POST {MF}/experiments/create": (f"{MF}/experiments/create", {"name": "ml_exp3"}),
    f"POST {MF}/experiments/search": (
        f"{MF}/experiments/search",
        {"filter": "name = 'ml_exp'", "max_results": 10},
    ),
    f"POST {MF}/experiments/update": (
        f"{MF}/experiments/update",
        {"experiment_id": "{exp}", "new_name": "x"},
    ),
    f"POST {MF}/experiments/delete": (f"{MF}/experiments/delete", {"experiment_id": "{exp}"}),
    f"POST {MF}/experiments/restore": (f"{MF}/experiments/restore", {"experiment_id": "{exp}"}),
    f"POST {MF}/experiments/set-experiment-tag": (
        f"{MF}/experiments/set-experiment-tag",
        {"experiment_id": "{exp}", "key": "k", "value": "v"},
    ),
    f"POST {MF}/runs/create": (f"{MF}/runs/create", {"experiment_id": "{exp}"}),
    f"POST {MF}/runs/update": (f"{MF}/runs/update", {"run_id": "{run}", "status": "FAILED"}),
    f"POST {MF}/runs/delete": (f"{MF}/runs/delete", {"run_id": "{run}"}),
    f"POST {MF}/runs/restore": (f"{MF}/runs/restore", {"run_id": "{run}"}),
    f"POST {MF}/runs/log-metric": (
        f"{MF}/runs/log-metric",
        {"run_id": "{run}", "key": "m", "value": 1.0, "timestamp": 1, "step": 0},
    ),
    f"POST {MF}/runs/log-parameter": (
        f"{MF}/runs/log-parameter",
        {"run_id": "{run}", "key": "p", "value": "1"},
    ),
    f"POST {MF}/runs/set-tag": (
        f"{MF}/runs/set-tag",
        {"run_id": "{run}", "key": "t", "value": "v"},
    ),
    f"POST {MF}/runs/delete-tag": (
        f"{MF}/runs/delete-tag",
        {"run_id": "{run}", "key": "mlflow.runName"},
    ),
    f"POST {MF}/runs/log-batch": (
        f"{MF}/runs/log-batch",
        {"run_id": "{run}", "params": [{"key": "q", "value": "1"}]},
    ),
    f"POST {MF}/runs/log-inputs": (
        f"{MF}/runs/log-inputs",
        {"run_id": "{run}", "datasets": [{"dataset": {"name": "d", "digest": "x"}}]},
    ),
    f"POST {MF}/runs/outputs": (
        f"{MF}/runs/outputs",
        {"run_id": "{run}", "models": [{"model_id": "m-00000000000000000000000000000000"}]},
    ),
    f"POST {MF}/runs/log-model": (
        f"{MF}/runs/log-model",
        {"run_id": "{run}", "model_json": "{}"},
    ),
    f"POST {MF}/runs/search": (f"{MF}/runs/search", {"experiment_ids": ["{exp}"]}),
    f"POST {MF}/logged-models": (
        f"{MF}/logged-models",
        {"experiment_id": "{exp}", "name": "lm"},
    ),
    f"POST {MF}/logged-models/search": (
        f"{MF}/logged-models/search",
        {"experiment_ids": ["{exp}"]},
    ),
    f"PATCH {MF}/logged-models/{{model_id}}": (
        f"{MF}/logged-models/m-00000000000000000000000000000000",
        {"status": "LOGGED_MODEL_READY"},
    ),
    f"PATCH {MF}/logged-models/{{model_id}}/tags": (
        f"{MF}/logged-models/m-00000000000000000000000000000000/tags",
        {"tags": [{"key": "k", "value": "v"}]},
    ),
    f"DELETE {MF}/logged-models/{{model_id}}/tags/{{key}}": (
        f"{MF}/logged-models/m-00000000000000000000000000000000/tags/k",
        None,
    ),
    f"POST {MF}/logged-models/{{model_id}}/params": (
        f"{MF}/logged-models/m-00000000000000000000000000000000/params",
        {"params": [{"key": "k", "value": "v"}]},
    ),
    "PUT /api/2.0/mlflow-artifacts/artifacts/{path:path}": (
        "/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/pwned.txt",
        None,
    ),
    f"POST {MF}/registered-models/create": (
        f"{MF}/registered-models/create",
        {"name": "ml_model3"},
    ),
    f"PATCH {MF}/registered-models/update": (
        f"{MF}/registered-models/update",
        {"name": "ml_model", "description": "defaced"},
    ),
    f"DELETE {MF}/registered-models/delete": (
        f"{MF}/registered-models/delete",
        {"name": "ml_model"},
    ),
    f"POST {MF}/registered-models/set-tag": (
        f"{MF}/registered-models/set-tag",
        {"name": "ml_model", "key": "k", "value": "v"},
    ),
    f"DELETE {MF}/registered-models/delete-tag": (
        f"{MF}/registered-models/delete-tag",
        {"name": "ml_model", "key": "k"},
    ),
    f"POST {MF}/registered-models/get-latest-versions": (
        f"{MF}/registered-models/get-latest-versions",
        {"name": "ml_model"},
    ),
    f"POST {MF}/registered-models/alias": (
        f"{MF}/registered-models/alias",
        {"name": "ml_model", "alias": "champion", "version": "1"},
    ),
    f"DELETE {MF}/registered-models/alias": (
        f"{MF}/registered-models/alias",
        {"name": "ml_model", "alias": "champion"},
    ),
    f"POST {MF}/model-versions/create": (
        f"{MF}/model-versions/create",
        {"name": "ml_model", "source": "runs:/{run}/notes.txt", "run_id": "{run}"},
    ),
    f"PATCH {MF}/model-versions/update": (
        f"{MF}/model-versions/update",
        {"name": "ml_model", "version": "1", "description": "defaced"},
    ),
    f"DELETE {MF}/model-versions/delete": (
        f"{MF}/model-versions/delete",
        {"name": "ml_model", "version": "1"},
    ),
    f"POST {MF}/model-versions/set-tag": (
        f"{MF}/model-versions/set-tag",
        {"name": "ml_model", "version": "1", "key": "k", "value": "v"},
    ),
    f"DELETE {MF}/model-versions/delete-tag": (
        f"{MF}/model-versions/delete-tag",
        {"name": "ml_model", "version": "1", "key": "k"},
    ),
    # -- monitoring
    "POST /api/v1/monitoring/profiles": (
        f"{V1}/monitoring/profiles",
        {"table": "silver.ml_clean", "columns": ["x"]},
    ),
    "POST /api/v1/monitoring/profiles/model/{name}/{version}": (
        f"{V1}/monitoring/profiles/model/ml_model/1",
        {},
    ),
    "POST /api/v1/monitoring/deployments/{deployment}/drift": (
        f"{V1}/monitoring/deployments/ml_dep/drift",
        {"window_seconds": 60},
    ),
    # -- platform as code: a plan that would repoint ml's deployment (planning reads the
    # whole platform: read on the default team; applying needs write on each owner)
    "POST /api/v1/platform/plan": (f"{V1}/platform/plan", {"desired": ML_DESIRED}),
    "POST /api/v1/platform/apply": (
        f"{V1}/platform/apply",
        {"plan": {"fingerprint": "0" * 64, "desired": ML_DESIRED}},
    ),
    # -- quotas and usage (admins of every team only: a team's own admin may not lift its cap)
    "PUT /api/v1/quotas/{scope}/{subject}/{resource}": (
        f"{V1}/quotas/team/ml/concurrent_jobs",
        {"limit": 1000},
    ),
    "DELETE /api/v1/quotas/{scope}/{subject}/{resource}": (
        f"{V1}/quotas/team/ml/concurrent_jobs",
        None,
    ),
    "POST /api/v1/usage/meter": (f"{V1}/usage/meter", {}),
    "POST /api/v1/monitoring/tables/{table}/quality": (
        f"{V1}/monitoring/tables/silver.ml_clean/quality",
        None,
    ),
    # -- monitoring: SLOs of ml's deployment
    "PUT /api/v1/monitoring/deployments/{deployment}/slos/{name}": (
        f"{V1}/monitoring/deployments/ml_dep/slos/avail",
        {"kind": "availability", "objective": 0.99},
    ),
    "DELETE /api/v1/monitoring/deployments/{deployment}/slos/{name}": (
        f"{V1}/monitoring/deployments/ml_dep/slos/avail",
        None,
    ),
    "POST /api/v1/monitoring/deployments/{deployment}/slos/evaluate": (
        f"{V1}/monitoring/deployments/ml_dep/slos/evaluate",
        {},
    ),
}


def mutating_routes(app: FastAPI) -> set[str]:
    """``"METHOD /path"`` of every mutating route the app serves (nested routers included)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[str]:
        for route in routes:
            ctx = getattr(route, "include_context", None)
            if ctx is not None:  # an included router (FastAPI keeps it as one node)
                yield from walk(ctx.included_router.routes, prefix + ctx.prefix)
            elif getattr(route, "methods", None):
                if (prefix + route.path).startswith("/ui/"):
                    continue  # web UI forms: session cookies + CSRF, see tests/security/test_ui_routes.py
                for method in sorted(set(route.methods) & MUTATING):
                    yield f"{method} {prefix}{route.path}"

    return set(walk(list(app.routes), ""))


def concrete(template: str, ids: dict[str, str]) -> Any:
    """``template`` (a path or a JSON body) with ``{run}``/``{exp}``/... filled in."""
    if isinstance(template, str):
        for key, value in ids.items():
            template = template.replace("{" + key + "}", value)
        return template
    if isinstance(template, dict):
        return {k: concrete(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [concrete(v, ids) for v in template]
    return template
