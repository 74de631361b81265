"""The golden path as a Shipyard pipeline: ``churn``, run by the demo's embedded worker.

``shipyard demo`` declares the lake tables and features (as code), applies this
pipeline and runs it through the job queue, so what a newcomer watches is the
platform running itself: afterwards ``shipyard pipelines runs churn`` lists the run
with each step's state, and ``job:<run>`` has lineage to the tables it wrote.

Steps pass data through the lake, the feature store and the registry; what they
hand downstream is small JSON (table names, versions, run ids). The built-in
platform actions do what they can (``registry.promote``, ``features.materialize``);
the steps below do the rest. They are ``@shipyard.step``
functions of this module, which the demo adds to ``jobs.modules`` of its project;
they call the platform through ``job_platform()``, as the principal who started the
run, like an action (no step argument names whom to act as).
"""

from __future__ import annotations

from typing import Any

from shipyard.demo.definitions import FEATURES, feature_definitions, table_definitions
from shipyard.pipelines.definitions import Pipeline, PipelineBuilder, pipeline, step
from shipyard.platform import Platform
from shipyard.step_actions import job_platform

#: The module the demo project lists in ``jobs.modules``.
MODULE = __name__
NAME = "churn"
#: Custom steps are not idempotent (a retry would register a second version): one try.
ONCE = {"max_attempts": 1}


def golden_path(raw: dict[str, str]) -> Pipeline:
    """The ``churn`` pipeline, ingesting the ``raw`` files (bronze table -> file)."""

    @pipeline(name=NAME, description="The golden path: raw files to a deployed model.")
    def churn(p: PipelineBuilder) -> None:
        bronze = p.call(ingest, files=raw, options=ONCE)
        curated = p.call(curate, after=[bronze], options=ONCE)
        data = p.call(training_set, after=[curated], options=ONCE)
        run = p.call(train, after=[data], options=ONCE)
        version = p.call(register, after=[run], options=ONCE)
        promoted = p.action(
            "registry.promote", name="promote", after=[version],
            params={"name": "churn", "alias": "champion"},
        )  # fmt: skip
        approved = p.call(approve, after=[promoted], options=ONCE)
        online = p.action("features.materialize", name="materialize", after=[approved])
        p.call(deploy, after=[online], options=ONCE)

    result: Pipeline = churn
    return result


@step
def ingest(files: dict[str, str]) -> dict[str, Any]:
    """Raw files into bronze Delta tables: rows written and quarantined per table."""
    p = job_platform()
    rows, quarantined = {}, {}
    for table, path in files.items():
        r = p.lake.ingest(table, path)
        rows[table] = r.rows_written
        if r.rows_quarantined:
            quarantined[table] = r.rows_quarantined
    return {"rows": rows, "quarantined": quarantined}


@step
def curate() -> dict[str, Any]:
    """Declare silver and gold on the bronze tables (``shipyard.demo.definitions``),
    then refresh them in dependency order: rows and quarantined rows per table.

    One step, not a ``lake.refresh`` action per table: a table definition needs the
    tables it reads, and an action's table must exist when the pipeline is planned.
    """
    p = job_platform()
    for definition in table_definitions():
        p.lake.define(definition)
    rows, quarantined = {}, {}
    for r in p.lake.refresh_all():
        rows[r.table] = p.lake.get_table(r.table).num_rows
        if r.rows_quarantined:
            quarantined[r.table] = r.rows_quarantined
    return {"rows": rows, "quarantined": quarantined}


@step
def training_set() -> dict[str, Any]:
    """Register the features (``shipyard.demo.definitions``, on gold), then build a
    point-in-time correct training set: churn labels joined to the features."""
    p = job_platform()
    p.features.apply(feature_definitions())
    labels = p.lake.sql(
        "SELECT customer_id, CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp, churned "
        "FROM bronze.labels ORDER BY event_timestamp, customer_id"
    ).to_pandas()
    ts = p.features.create_training_set("churn_train", labels, feature_service="churn")
    return {"name": ts.name, "version": ts.version, "rows": ts.num_rows}


@step
def train(inputs: dict[str, Any]) -> dict[str, Any]:
    """A gradient-boosted classifier on the training set; the run is tracked."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    p = job_platform()
    upstream = inputs["training_set"]
    ts = p.features.get_training_set(upstream["name"], upstream["version"])
    df = ts.to_pandas()
    x = df[list(FEATURES)].astype("float64")
    y = df["churned"].astype(int)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    params = {"max_iter": 150, "learning_rate": 0.05, "max_depth": 4, "random_state": 0}
    with p.tracking.start_run(experiment="churn", run_name="hist-gbt") as run:
        run.log_input(ts)
        run.log_params(params)
        model = HistGradientBoostingClassifier(**params).fit(x_train, y_train)
        auc = float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
        run.log_metrics(
            {"auc": auc, "train_rows": float(len(x_train)), "test_rows": float(len(x_test))}
        )
        run.log_model(model, "model", input_example=x_train.head(5), predict_method="predict_proba")
    return {"run_id": run.id, "auc": auc}


@step
def register(inputs: dict[str, Any]) -> dict[str, Any]:
    """Register the trained run's model as a new version of ``churn``."""
    run_id = inputs["train"]["run_id"]
    mv = job_platform().registry.register_model("churn", source=f"runs:/{run_id}/model")
    return {"name": mv.name, "version": int(mv.version)}


@step
def approve(inputs: dict[str, Any]) -> dict[str, Any]:
    """Approve the promotion when ``champion`` is protected (as the demo's approver)."""
    promoted = inputs["promote"]
    if promoted.get("status") != "pending":  # not protected: set at once
        return promoted
    p = job_platform()
    pending = p.registry.list_promotions(name="churn", status="pending").items
    request = next(r for r in pending if r.version == promoted["version"])
    approver = ensure_principal(p, "demo-approver", role="approver")
    done = p.as_principal(approver).registry.approve_promotion(request.id)
    return {**promoted, "status": str(done.status), "approved_by": approver.name}


@step
def deploy() -> dict[str, Any]:
    """Serve ``churn@champion`` with the ``churn`` feature service."""
    from shipyard.serving import Variant

    d = job_platform().serving.create_deployment(
        "churn",
        variants=[Variant(name="champion", model="churn@champion", weight=100)],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    return {"deployment": "churn", "version": getattr(d, "version", None)}


def ensure_principal(p: Platform, name: str, *, role: str) -> Any:
    """The service principal ``name`` (made with ``role`` on first use)."""
    from shipyard.errors import AlreadyExists

    try:
        return p.security.create_principal(name, kind="service", role=role)
    except AlreadyExists:
        return p.security.get_principal(name)
