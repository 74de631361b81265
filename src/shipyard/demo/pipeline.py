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

Every step is safe to run again on the same project (the daily schedule does): with
unchanged data a run writes nothing new. Ingest skips a file already in bronze (its
content hash is the batch id), a refresh with no new input commits nothing, the
training set, the training run and the model version are reused when what they were
made from has not changed, ``promote`` leaves an alias already on the version alone,
materializing writes the same online values again, and ``deploy`` leaves a
deployment that already serves ``churn@champion`` as it is. ``churn_retrain`` (the
second pipeline) retrains when gold changes; it writes no lake table, so its own
runs never trigger it again.
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
RETRAIN = "churn_retrain"
#: The gold table whose commits start ``churn_retrain``.
GOLD = "gold.customer_daily"
#: ``churn`` runs every day at 03:00 in this time zone (a missed day runs once).
SCHEDULE, TIMEZONE = "0 3 * * *", "Europe/Paris"
#: One try: a demo fails visibly (ADR 0032); a rerun of the whole pipeline is safe.
ONCE = {"max_attempts": 1}
#: The classifier's parameters; a change retrains even on the same training set.
PARAMS = {"max_iter": 150, "learning_rate": 0.05, "max_depth": 4, "random_state": 0}


def golden_path(raw: dict[str, str]) -> Pipeline:
    """The ``churn`` pipeline, ingesting the ``raw`` files (bronze table -> file), daily."""

    @pipeline(
        name=NAME,
        description="The golden path: raw files to a deployed model.",
        schedule=SCHEDULE,
        timezone=TIMEZONE,
        catchup="run-once",
    )
    def churn(p: PipelineBuilder) -> None:
        bronze = p.call(ingest, files=raw, options=ONCE)
        curated = p.call(curate, after=[bronze], options=ONCE)
        online = _retrain_steps(p, after=curated)
        p.call(deploy, after=[online], options=ONCE)

    result: Pipeline = churn
    return result


def retrain() -> Pipeline:
    """``churn_retrain``: a commit to gold retrains, registers, promotes and materializes.

    Not ingest or refresh: it writes no lake table, so its runs cannot start one
    another (a trigger on a table the pipeline's own steps wrote would loop). Apply it
    once gold exists (planning checks a trigger's table).
    """

    @pipeline(
        name=RETRAIN,
        description=f"Retrain the churn model when {GOLD} changes.",
        on_tables=[GOLD],
    )
    def churn_retrain(p: PipelineBuilder) -> None:
        _retrain_steps(p, after=None)

    result: Pipeline = churn_retrain
    return result


def _retrain_steps(p: PipelineBuilder, *, after: Any) -> Any:
    """training set -> train -> register -> promote -> approve -> materialize."""
    data = p.call(training_set, after=[after] if after else [], options=ONCE)
    run = p.call(train, after=[data], options=ONCE)
    version = p.call(register, after=[run], options=ONCE)
    promoted = p.action(
        "registry.promote", name="promote", after=[version],
        params={"name": "churn", "alias": "champion"},
    )  # fmt: skip
    approved = p.call(approve, after=[promoted], options=ONCE)
    return p.action("features.materialize", name="materialize", after=[approved])


@step
def ingest(files: dict[str, str]) -> dict[str, Any]:
    """Raw files into bronze Delta tables: rows written and quarantined per table. A
    file already ingested (same content) is skipped: 0 rows, nothing committed."""
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
    point-in-time correct training set: churn labels joined to the features. The
    newest version is reused when the labels, the tables it read and the views are
    as they were then (``reused``)."""
    p = job_platform()
    p.features.apply(feature_definitions())
    labels = p.lake.get_table("bronze.labels").version
    made_from = f"churn labels (bronze.labels@{labels}) joined to the churn features"
    latest = _unchanged_training_set(p, made_from)
    if latest is not None:
        return latest
    frame = p.lake.sql(
        "SELECT DISTINCT customer_id, CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp, "
        "churned FROM bronze.labels ORDER BY event_timestamp, customer_id"
    ).to_pandas()
    ts = p.features.create_training_set(
        "churn_train", frame, feature_service="churn", description=made_from
    )
    return {"name": ts.name, "version": ts.version, "rows": ts.num_rows, "reused": False}


def _unchanged_training_set(p: Platform, made_from: str) -> dict[str, Any] | None:
    """The newest ``churn_train`` if it was made from the same labels, table versions
    and feature view versions as a build now would be (else None)."""
    from shipyard.errors import NotFound

    try:
        asset = p.catalog.get_asset("training_set:churn_train")
        if asset.description != made_from:
            return None
        props = asset.properties
        for table, version in props["sources"].items():
            if p.lake.get_table(table).version != version:
                return None
        for view, version in props["views"].items():
            if p.catalog.get_asset(f"feature_view:{view}").version != version:
                return None
    except NotFound:
        return None
    return {"name": asset.name, "version": asset.version, "rows": props["num_rows"], "reused": True}


@step
def train(inputs: dict[str, Any]) -> dict[str, Any]:
    """A gradient-boosted classifier on the training set; the run is tracked. A finished
    run on the same training set version with the same parameters is reused."""
    import hashlib
    import json

    p = job_platform()
    upstream = inputs["training_set"]
    ts = p.features.get_training_set(upstream["name"], upstream["version"])
    key = hashlib.sha256(f"{ts.ref} {json.dumps(PARAMS, sort_keys=True)}".encode()).hexdigest()
    done = _finished_run(p, key[:32])
    if done is not None:
        return {"run_id": done.id, "auc": done.metrics.get("auc"), "reused": True}
    run_id, auc = _fit(p, ts, key[:32])
    return {"run_id": run_id, "auc": auc, "reused": False}


def _finished_run(p: Platform, key: str) -> Any:
    """A finished ``churn`` run tagged with ``train_key`` ``key`` (None if none)."""
    from shipyard.errors import NotFound

    try:
        found = p.tracking.search_runs(
            "churn",
            filter=f"tags.train_key = '{key}' and attributes.status = 'FINISHED'",
            limit=1,
        ).items
    except NotFound:  # no experiment yet
        return None
    return found[0] if found else None


def _fit(p: Platform, ts: Any, key: str) -> tuple[str, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    df = ts.to_pandas()
    x = df[list(FEATURES)].astype("float64")
    y = df["churned"].astype(int)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    with p.tracking.start_run(experiment="churn", run_name="hist-gbt") as run:
        run.log_input(ts)
        run.log_params(PARAMS)
        run.set_tag("train_key", key)
        model = HistGradientBoostingClassifier(**PARAMS).fit(x_train, y_train)
        auc = float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
        run.log_metrics(
            {"auc": auc, "train_rows": float(len(x_train)), "test_rows": float(len(x_test))}
        )
        run.log_model(model, "model", input_example=x_train.head(5), predict_method="predict_proba")
    return run.id, auc


@step
def register(inputs: dict[str, Any]) -> dict[str, Any]:
    """Register the trained run's model as a new version of ``churn`` (once per run:
    a run already registered answers its version, ``reused``)."""
    from shipyard.errors import NotFound

    p = job_platform()
    run_id = inputs["train"]["run_id"]
    try:
        existing = p.registry.list_model_versions("churn", run_id=run_id, limit=1).items
    except NotFound:  # no model yet
        existing = []
    if existing:
        return {"name": "churn", "version": int(existing[0].version), "reused": True}
    mv = p.registry.register_model("churn", source=f"runs:/{run_id}/model")
    return {"name": mv.name, "version": int(mv.version), "reused": False}


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
    """Serve ``churn@champion`` with the ``churn`` feature service (a deployment that
    already does is left as it is: the alias, not the deployment, names the version)."""
    from shipyard.errors import NotFound
    from shipyard.serving import Variant

    p = job_platform()
    try:
        d = p.serving.get_deployment("churn")
        if [v.model for v in d.variants] == ["churn@champion"]:
            return {"deployment": "churn", "version": getattr(d, "version", None), "reused": True}
    except NotFound:
        pass
    d = p.serving.apply_deployment(
        "churn",
        variants=[Variant(name="champion", model="churn@champion", weight=100)],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    return {"deployment": "churn", "version": getattr(d, "version", None), "reused": False}


def ensure_principal(p: Platform, name: str, *, role: str) -> Any:
    """The service principal ``name`` (made with ``role`` on first use)."""
    from shipyard.errors import AlreadyExists

    try:
        return p.security.create_principal(name, kind="service", role=role)
    except AlreadyExists:
        return p.security.get_principal(name)
