"""``ServingService``: deployments (create, update, roll back) and predictions.

Canary ramps are ``ramps.CanaryOps``; batch scoring, streaming and edge export are
``offline_ops.OfflineOps`` (mixins over the same service).

Every change to a deployment is a new catalog version of ``deployment:<name>``,
audited, with a lineage edge from each model version it serves. Predictions run
on the per-process ``ServingRuntime`` (see ``runtime.py``): no catalog query per
request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard._internal.paging import Page, readable_teams, resolve_limit
from shipyard.catalog.context import Service, ServiceContext
from shipyard.catalog.models import Asset
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound, QuotaExceeded
from shipyard.security.models import ALL_TEAMS, Permission
from shipyard.serving import guards, store
from shipyard.serving.context import ServingRuntimes
from shipyard.serving.models import (
    Deployment,
    DeploymentSpec,
    NeighborFeatures,
    PredictResponse,
    Variant,
    validate_name,
    validate_spec,
)
from shipyard.serving.neighbors import check_neighbor_steps
from shipyard.serving.offline_ops import OfflineOps
from shipyard.serving.ports import ResolvedModel
from shipyard.serving.predlog import GROUND_TRUTH_TABLE, LOG_TABLE, ground_truth_table
from shipyard.serving.protocol import UNSET
from shipyard.serving.ramps import CanaryOps
from shipyard.serving.report import DeploymentReport, build_report, report_sql
from shipyard.serving.runtime import ServingRuntime

if TYPE_CHECKING:
    from shipyard._internal.quota import QuotaCheck
    from shipyard.events.service import EventService
    from shipyard.lake.service import LakeService
    from shipyard.registry.service import RegistryService
    from shipyard.tracking.service import TrackingService
    from shipyard.vectors.service import VectorService

_UNSET: Any = UNSET


class ServingService(CanaryOps, OfflineOps, Service):
    """Deployments of registered models behind one endpoint each, with online features."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        runtimes: ServingRuntimes,
        lake: Callable[[], LakeService],
        registry: Callable[[], RegistryService],
        tracking: Callable[[], TrackingService],
        events: Callable[[], EventService],
        log_lake: Callable[[], LakeService],
        quotas: Callable[[], QuotaCheck] | None = None,
        vectors: Callable[[], VectorService] | None = None,
    ) -> None:
        super().__init__(ctx)
        self._vectors = vectors  # neighbour steps are checked as the deployment's writer
        self._quotas = quotas  # deployments caps (issue #16)
        #: Shared by every principal's view; built by ``Platform``.
        self.runtimes = runtimes
        # The other capabilities, as this caller; built when first used (predict needs none).
        self._lake, self._registry, self._tracking, self._events = lake, registry, tracking, events
        #: The lake as the serving runtime: reads every team's rows of the inference log
        #: (the caller is authorized on the deployment first).
        self._log_lake = log_lake

    @property
    def runtime(self) -> ServingRuntime:
        return self.runtimes.runtime()

    # -- deployments ------------------------------------------------------------------

    def create_deployment(
        self,
        name: str,
        *,
        variants: list[Variant],
        feature_service: str | None = None,
        entity_keys: list[str] | None = None,
        request_fields: dict[str, str] | None = None,
        require_features: bool = False,
        log_predictions: bool = True,
        neighbors: list[NeighborFeatures] | None = None,
        owner: str | None = None,
        description: str | None = None,
    ) -> Deployment:
        """Create deployment ``name`` (version 1) serving ``variants``.

        Args:
            name: the endpoint name (``POST /api/v1/deployments/<name>/predict``).
            variants: model version references with traffic weights summing to 100.
            feature_service: online features looked up by ``entity_keys`` per row.
            entity_keys: the fields of each request row that identify the entity.
            request_fields: fields sent with each row and passed to the model, ``{name: type}``.
            require_features: refuse rows whose entity has no online features.
            log_predictions: write every prediction to the inference log table.
            neighbors: nearest-neighbour feature steps (``NeighborFeatures``); the caller
                must be able to read each step's vector index.
            owner: the owning team (default: the settings' default team).

        Returns:
            The deployment, version 1.

        Raises:
            InvalidArgument: bad name, weights not summing to 100, a variant naming a
                model version that does not exist.
            AlreadyExists: a deployment with that name exists.
            PermissionDenied: the caller may not write to the owner team.
        """
        validate_name(name)
        spec = DeploymentSpec(
            variants=list(variants),
            feature_service=feature_service,
            entity_keys=list(entity_keys or []),
            request_fields=dict(request_fields or {}),
            require_features=require_features,
            log_predictions=log_predictions,
            neighbors=list(neighbors or []),
        )
        team = owner or self._ctx.default_team
        if self._quotas is not None:
            from shipyard._internal.quota import QuotaResource

            self._quotas().enforce(
                QuotaResource.DEPLOYMENTS, team, action="serving.create_deployment"
            )
        return self._write(
            name,
            spec,
            team=team,
            action="serving.create_deployment",
            description=description,
            create=True,
        )

    def update_deployment(
        self,
        name: str,
        *,
        variants: list[Variant] | None = None,
        feature_service: str | None = _UNSET,
        entity_keys: list[str] | None = None,
        request_fields: dict[str, str] | None = None,
        require_features: bool | None = None,
        log_predictions: bool | None = None,
        neighbors: list[NeighborFeatures] | None = None,
        description: str | None = None,
    ) -> Deployment:
        """Record a new version of ``name`` with the given fields changed.

        Raises:
            NotFound: no such deployment.
            InvalidArgument: the new spec is not valid (see ``create_deployment``).
        """
        current = self.get_deployment(name)
        changes: dict[str, Any] = {
            k: v
            for k, v in {
                "variants": variants,
                "entity_keys": entity_keys,
                "request_fields": request_fields,
                "require_features": require_features,
                "log_predictions": log_predictions,
                "neighbors": neighbors,
            }.items()
            if v is not None
        }
        if feature_service is not _UNSET:
            changes["feature_service"] = feature_service
        if "variants" in changes and current.spec.canary is not None:
            changes["canary"] = None  # setting variants by hand ends a ramp
        spec = current.spec.model_copy(update=changes)
        return self._write(
            name,
            spec,
            team=current.owner,
            action="serving.update_deployment",
            description=description,
        )

    def apply_deployment(
        self,
        name: str,
        *,
        variants: list[Variant] | None = None,
        feature_service: str | None = _UNSET,
        entity_keys: list[str] | None = None,
        request_fields: dict[str, str] | None = None,
        require_features: bool | None = None,
        neighbors: list[NeighborFeatures] | None = None,
        owner: str | None = None,
        description: str | None = None,
    ) -> Deployment:
        """Create ``name``, or record a new version of it with the given fields changed.

        ``owner`` applies only to a new deployment.

        Raises:
            InvalidArgument: ``name`` does not exist and ``variants`` is empty, or the
                spec is not valid (see ``create_deployment``).
        """
        try:
            self.get_deployment(name)
        except NotFound:
            if not variants:
                raise InvalidArgument(
                    f"deployment {name} does not exist: give its variants to create it"
                ) from None
            return self.create_deployment(
                name,
                variants=variants,
                feature_service=None if feature_service is _UNSET else feature_service,
                entity_keys=entity_keys,
                request_fields=request_fields,
                require_features=bool(require_features),
                neighbors=neighbors,
                owner=owner,
                description=description,
            )
        return self.update_deployment(
            name,
            variants=variants,
            feature_service=feature_service,
            entity_keys=entity_keys,
            request_fields=request_fields,
            require_features=require_features,
            neighbors=neighbors,
            description=description,
        )

    def rollback_deployment(self, name: str, *, to_version: int | None = None) -> Deployment:
        """Serve an earlier version's spec again, as a new version (the history is kept).

        Args:
            to_version: the version to return to (default: the one before the current).

        Raises:
            NotFound: no such deployment or version.
        """
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.get(conn, store.KIND, name)
            target = to_version if to_version is not None else asset.version - 1
            spec = store.version_spec(conn, self._ctx, asset, target) if target >= 1 else None
        if spec is None:
            raise NotFound(
                f"deployment '{name}' has no version {target}", name=name, version=target
            )
        return self._write(
            name,
            spec,
            team=asset.owner,
            action="serving.rollback_deployment",
            details={"to_version": target},
        )

    def get_deployment(self, name: str) -> Deployment:
        """The current version of ``name``.

        Raises:
            NotFound: no such deployment.
        """
        with self._ctx.db.connect() as conn:
            dep = store.find(conn, self._ctx, name)
        if dep is None:
            raise NotFound(f"no deployment named '{name}'", name=name)
        self._ctx.require(
            Permission.READ, dep.owner, action="serving.get_deployment", asset=f"deployment:{name}"
        )
        return dep

    def list_deployments(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[Deployment]:
        """Deployments the caller may read, by name."""
        size = resolve_limit(self._ctx.settings, limit)
        with self._ctx.db.connect() as conn:
            items, token = self._ctx.catalog.page(
                conn,
                scope="serving.deployments",
                teams=readable_teams(self.principal),
                limit=size,
                page_token=page_token,
                kind=store.KIND,
            )
        return Page(items=[store.to_deployment(a) for a in items], next_page_token=token)

    def list_deployment_versions(
        self, name: str, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[Deployment]:
        """Every version of ``name``, oldest first."""
        current = self.get_deployment(name)
        size = resolve_limit(self._ctx.settings, limit)
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.get(conn, store.KIND, name)
            versions, token = self._ctx.catalog.version_page(
                conn, asset, limit=size, page_token=page_token
            )
        out = []
        for v in versions:
            a = asset.model_copy(
                update={
                    "version": v.version,
                    "created_by": v.created_by,
                    "updated_at": v.created_at,
                }
            )
            out.append(store.to_deployment(a, v.properties))
        if not out and not page_token:
            out = [current]
        return Page(items=out, next_page_token=token)

    def delete_deployment(self, name: str) -> None:
        """Remove the deployment from the catalog (its versions and lineage go with it)."""
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.get(conn, store.KIND, name)
        with self._ctx.mutation(
            "serving.delete_deployment", team=asset.owner, asset=f"deployment:{name}"
        ) as m:
            self._ctx.catalog.delete(m.conn, asset)
        self.runtime.forget(name)

    # -- predictions --------------------------------------------------------------------

    def predict(
        self, name: str, inputs: list[dict[str, Any]], *, routing_key: str | None = None
    ) -> PredictResponse:
        """Score ``inputs`` (one dict per row: entity keys and request fields).

        Args:
            name: the deployment.
            inputs: rows; all rows of one request are scored by one variant in one call.
            routing_key: the sticky A/B key (default: the first row's entity key).

        Returns:
            The predictions in input order, the variant and model version that made them,
            and each row's feature status.

        Raises:
            NotFound: no such deployment.
            PermissionDenied: the caller lacks ``predict`` on the deployment's team.
            InvalidArgument: a row misses an entity key or request field or has a wrong type.
            ShipyardError: the model raised (HTTP 500 with the request id).
        """
        return self._authorized(name, inputs).predict(name, inputs, routing_key=routing_key)

    async def apredict(
        self, name: str, inputs: list[dict[str, Any]], *, routing_key: str | None = None
    ) -> PredictResponse:
        """``predict`` for a server's event loop: the loop goes on while the model's worker
        scores, and concurrent requests to one worker share a call. Same answers and errors."""
        runtime = self._authorized(name, inputs)
        return await runtime.apredict(name, inputs, routing_key=routing_key)

    def _authorized(self, name: str, inputs: list[dict[str, Any]]) -> ServingRuntime:
        cap = self._ctx.settings.server.max_predict_rows
        if len(inputs) > cap:
            raise QuotaExceeded(
                f"{len(inputs)} input rows in one predict call; the limit is {cap}"
                " (setting server.max_predict_rows)",
                limit="server.max_predict_rows",
                value=cap,
            )
        runtime = self.runtime
        active = runtime.get(name)
        owner = active.deployment.owner
        if not self.principal.can(Permission.PREDICT, owner):
            self._ctx.require(
                Permission.PREDICT, owner, action="serving.predict", asset=f"deployment:{name}"
            )
        return runtime

    def deployment_stats(self, name: str, *, window_seconds: float = 3600.0) -> dict[str, Any]:
        """Per variant: requests, errors, error rate and latency percentiles.

        ``variants`` covers every server process: it is read from the inference log over
        the last ``window_seconds`` (this process's buffer is written first; other
        processes' within ``serving.log_flush_seconds``: ADR 0052). ``process`` is this
        process's in-memory book (canary checks read the shared log, like ``variants``).
        """
        from datetime import UTC, datetime, timedelta

        from shipyard.serving.predlog import stats_sql

        if not 0 < window_seconds <= 366 * 86400:
            raise InvalidArgument("window_seconds must be in (0, 366 days]")
        dep = self.get_deployment(name)
        self.runtimes.flush_log()  # every process's spooled rows, this one's buffer first
        lake = self._log_lake()  # the caller may read the deployment, not every team's log
        found: dict[str, dict[str, Any]] = {}
        if _table_exists(lake, LOG_TABLE):
            since = datetime.now(UTC) - timedelta(seconds=window_seconds)
            for row in lake.sql(stats_sql(name, since)).to_pylist():
                row["error_rate"] = row["errors"] / row["requests"]
                found[row.pop("variant")] = row
        book = self.runtime.stats.for_deployment(name)
        return {
            "deployment": name,
            "version": dep.version,
            "window_seconds": window_seconds,
            "variants": {v.name: found.get(v.name) for v in dep.spec.variants},
            "process": {
                v.name: book[v.name].summary() if v.name in book else None
                for v in dep.spec.variants
            },
        }

    # -- evidence -----------------------------------------------------------------------

    def flush_prediction_log(self) -> int:
        """Write the inference log now: this process's buffer, then every process's
        spooled predictions (the scheduled ``flush_prediction_log`` job does the same
        every ``serving.log_compact_seconds``). Returns the rows appended to the log.

        Queued shadow requests are scored first (for up to 5 s), so their answers are in.
        The log holds every team's predictions, so this is an operator's action: it
        needs ``admin`` on every team (``*``).
        """
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="serving.flush_prediction_log")
        self.runtime.drain_shadow(timeout=5.0)
        return self.runtimes.flush_log(wait=30.0)

    def log_ground_truth(self, name: str, outcomes: list[dict[str, Any]]) -> int:
        """Record what really happened, by request id (and row) or by entity.

        Args:
            outcomes: ``{"request_id": ..., "row": 0, "outcome": 1.0}`` or
                ``{"entity": {"customer_id": 7}, "outcome": 1.0}``.

        Returns:
            The number of outcomes written.

        Raises:
            InvalidArgument: an outcome without a number, or with neither key.
        """
        dep = self.get_deployment(name)
        self._ctx.require(
            Permission.WRITE,
            dep.owner,
            action="serving.log_ground_truth",
            asset=f"deployment:{name}",
        )
        table = ground_truth_table(name, dep.spec.entity_keys, outcomes)
        self._lake().write(
            GROUND_TRUTH_TABLE, table, mode="append", source="serving", operation="ground_truth"
        )
        return table.num_rows

    def get_report(self, name: str) -> DeploymentReport:
        """Per variant: requests, errors, latency percentiles, outcome and Brier score with
        95% confidence intervals, and Welch's t-test against the first live variant.

        Reads the inference log, after a flush of the prediction spool.
        """
        dep = self.get_deployment(name)
        self.runtimes.flush_log()
        control = next((v.name for v in dep.spec.variants if not v.shadow), None)
        lake = self._lake()
        if not _table_exists(lake, LOG_TABLE):
            return build_report(name, dep.version, control, [])
        sql = report_sql(name, with_ground_truth=_table_exists(lake, GROUND_TRUTH_TABLE))
        return build_report(name, dep.version, control, lake.sql(sql).to_pylist())

    # -- internals ----------------------------------------------------------------------

    def _resolve_variants(self, spec: DeploymentSpec) -> dict[str, ResolvedModel]:
        source = self.runtime._source
        out: dict[str, ResolvedModel] = {}
        for v in spec.variants:
            model, alias, version = v.parsed_model()
            try:
                out[v.name] = source.resolve(model, alias=alias, version=version)
            except NotFound as exc:
                raise InvalidArgument(
                    f"variant '{v.name}' points at {v.model}, which does not exist: {exc.message}",
                    variant=v.name,
                    model=v.model,
                ) from None
        return out

    def _write(
        self,
        name: str,
        spec: DeploymentSpec,
        *,
        team: str,
        action: str,
        description: str | None = None,
        create: bool = False,
        details: dict[str, Any] | None = None,
        load: bool = True,
    ) -> Deployment:
        """Write a deployment version. ``load=False`` (a canary step or rollback, which
        serves no model the deployment did not load already) neither loads the models nor
        starts a serving runtime in a process that has none (a job worker): servers pick
        the version up on their refresh."""
        load = load or self.runtimes.built() is not None  # before resolving builds one
        validate_spec(spec)
        if spec.neighbors:
            if self._vectors is None:
                raise InvalidArgument("this platform has no vector search for neighbour steps")
            check_neighbor_steps(spec.neighbors, self._vectors(), self._lake())
        resolved = self._resolve_variants(spec)
        models = self._model_assets(resolved, action)
        if not create:
            self._guard_aliases(name, spec, models, action)
        # only once the caller may make this change: loading starts model worker processes
        for ref in resolved.values() if load else ():  # a model that cannot load fails here
            self.runtime.load_model(ref)
        with self._ctx.mutation(action, team=team, asset=f"deployment:{name}") as m:
            existing = self._ctx.catalog.find(m.conn, store.KIND, name)
            if create and existing is not None:
                raise AlreadyExists(f"deployment '{name}' already exists", name=name)
            if not create and existing is None:
                raise NotFound(f"no deployment named '{name}'", name=name)
            asset = self._ctx.catalog.upsert(
                m.conn,
                kind=store.KIND,
                name=name,
                owner=team,
                created_by=self.principal.name,
                description=description,
                # the whole spec, plus what other capabilities look for at the top level
                properties={
                    "spec": spec.model_dump(mode="json"),
                    "feature_service": spec.feature_service,
                    "models": sorted({str(r) for r in resolved.values()}),
                },
            )
            store.record_lineage(
                m.conn, self._ctx, asset, models, list(resolved.values()), spec.feature_service
            )
            m.asset = str(asset.ref)
            m.details = {"variants": {v: str(r) for v, r in resolved.items()}, **(details or {})}
            dep = store.to_deployment(asset)
        if load:
            self.runtime.install(dep)
        return dep

    def _model_assets(self, resolved: dict[str, ResolvedModel], action: str) -> dict[str, Asset]:
        """The catalog assets of the served models; the caller must be able to read them."""
        models: dict[str, Asset] = {}
        with self._ctx.db.connect() as conn:
            for ref in resolved.values():
                found = self._ctx.catalog.find(conn, "model", ref.name)
                if found is None:
                    raise InvalidArgument(
                        f"model '{ref.name}' is not in the catalog", model=ref.name
                    )
                models[ref.name] = found
        guards.require_deploy(self._ctx, models, action)
        return models

    def _guard_aliases(
        self, name: str, spec: DeploymentSpec, models: dict[str, Asset], action: str
    ) -> None:
        """A protected alias served now is not bypassed by a direct version (see guards.py)."""
        with self._ctx.db.connect() as conn:
            current = store.find(conn, self._ctx, name)
        if current is None:
            return
        registry = self._registry()

        def protected(model: str, alias: str) -> bool:
            try:
                return bool(registry.get_alias_policy(model, alias).protected)
            except NotFound:  # a model outside the registry has no governed aliases
                return False

        guards.require_alias_route(self._ctx, name, current.spec, spec, models, protected, action)


def _table_exists(lake: Any, name: str) -> bool:
    try:
        lake.get_table(name)
    except NotFound:
        return False
    return True
