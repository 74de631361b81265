"""Typed settings: ``shipyard.yaml`` in the project folder, overridden by ``SHIPYARD_*``.

Environment variables name a section and a field joined by one underscore
(``SHIPYARD_CATALOG_URL`` sets ``catalog.url``, ``SHIPYARD_ONLINE_BACKEND`` sets
``online.backend``); top-level fields drop the section (``SHIPYARD_HOME``).
Each seam has one ``backend`` choice: a short alias or ``module:Class``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from shipyard.errors import ConfigError

CONFIG_FILE = "shipyard.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CatalogSettings(_Section):
    #: SQLAlchemy URL; empty means a SQLite file in the platform home.
    url: str | None = None
    #: Seconds a SQLite writer waits for the lock before giving up.
    busy_timeout: float = Field(default=30.0, gt=0)


class LakeSettings(_Section):
    #: Folder or ``s3://bucket/prefix``; empty means ``<home>/lake``.
    root: str | None = None
    storage_options: dict[str, str] = Field(default_factory=dict)
    #: Seconds a lake write waits for the catalog after its Delta commit before it
    #: answers 503 (the commit is then recorded as recovered on the next lake use).
    catalog_wait: float = Field(default=5.0, gt=0)
    #: User SQL (lake SQL, row filters, entity sources) is interrupted after this many seconds.
    sql_timeout: float = Field(default=60.0, gt=0)
    #: DuckDB memory limit shared by all user SQL of one process (spills to disk beyond it).
    sql_memory_limit: str = Field(default="4GB", pattern=r"^[0-9]+(\.[0-9]+)?\s*[KMGT]i?B$")
    #: A user query returning more rows than this is refused (add a LIMIT or aggregate).
    sql_max_rows: int = Field(default=1_000_000, gt=0)


class OnlineSettings(_Section):
    #: "sqlite" (embedded, the default), "redis", or "module:Class".
    backend: str = "sqlite"
    #: sqlite:///path (default ``<home>/online.db``) or redis://host:port/db.
    url: str | None = None
    #: Prefix of every Redis key (default ``shipyard:<project>``).
    key_prefix: str | None = None
    #: Entity rows one ``get_online_features`` call may ask for (QuotaExceeded past it).
    max_rows_per_call: int = Field(default=10_000, ge=1)


class ArtifactSettings(_Section):
    #: Folder or ``s3://bucket/prefix``; empty means ``<home>/artifacts``.
    root: str | None = None
    #: Options for an object-store root (e.g. ``endpoint_url``, ``region_name``).
    storage_options: dict[str, str] = Field(default_factory=dict)
    #: Most entries one artifact listing returns (a folder, or every file of a model version).
    list_max_entries: int = Field(default=10_000, ge=1)
    #: Deepest folder nesting a recursive listing walks.
    list_max_depth: int = Field(default=32, ge=1)


class RegistrySettings(_Section):
    #: Server folders an admin may register local models from (``/path`` or ``file://``);
    #: empty (the default) means no local imports at all. Relative paths are from the project.
    import_roots: list[Path] = Field(default_factory=list)


class EventSettings(_Section):
    #: "sqlite" (an append-only table in the catalog DB) or "nats" (JetStream).
    backend: str = "sqlite"
    #: e.g. ``nats://127.0.0.1:4222`` for the "nats" backend.
    url: str | None = None


class JobSettings(_Section):
    #: ``module:function`` references a job may run (besides ``@job``-decorated functions
    #: of the modules below and the built-ins in ``shipyard.pipelines.builtin``).
    functions: list[str] = Field(default_factory=list)
    #: Modules whose ``@shipyard.pipelines.job``-decorated functions jobs may run.
    modules: list[str] = Field(default_factory=list)
    #: Seconds a claimed job stays leased without a heartbeat before it is requeued.
    lease_seconds: float = Field(default=30.0, gt=0)
    #: Running jobs at most per pool / per team (absent = unlimited), enforced at claim time.
    pool_limits: dict[str, int] = Field(default_factory=dict)
    team_limits: dict[str, int] = Field(default_factory=dict)
    #: ``shipyard serve`` runs jobs itself: worker threads and a pipeline scheduler in the
    #: server process (off when separate ``shipyard worker`` processes run the queue).
    embedded: bool = True
    #: Worker threads of the embedded worker.
    embedded_workers: int = Field(default=1, ge=1, le=64)
    #: Run every job with this executor (inprocess, subprocess, ray) whatever the job or
    #: step asks: the same pipeline runs unchanged on a Ray cluster by setting "ray".
    executor: Literal["inprocess", "subprocess", "ray"] | None = None
    #: The Ray cluster of the "ray" executor (``ray://head:10001``, ``auto``); none: a
    #: local Ray instance started by the worker with ``ray_num_cpus`` CPUs.
    ray_address: str | None = None
    ray_num_cpus: int | None = Field(default=None, ge=1)
    #: Workers publish ``job.finished``/``job.failed`` lifecycle events (off: a queue of
    #: many tiny jobs saves an event insert per job).
    events: bool = True
    #: Days a finished job or finished pipeline run (with its step jobs) is kept before
    #: the hourly ``jobs_prune`` job deletes it; 0 keeps job history forever.
    retention_days: int = Field(default=30, ge=0, le=36500)
    #: Hours a succeeded platform periodic job (canary, slo, inference_log, jobs_prune)
    #: is kept; 0: such jobs are kept ``retention_days`` like the others.
    periodic_retention_hours: float = Field(default=24.0, ge=0, le=876000)
    #: Seconds between ``jobs_prune`` jobs the scheduler queues (ADR 0056); 0: none.
    prune_seconds: float = Field(default=3600.0, ge=0)
    #: PostgreSQL: a transaction that queues jobs sends ``NOTIFY shipyard_jobs``, and
    #: each process with idle workers ``LISTEN``s on one connection of its own, so a job
    #: queued by any process is claimed at once. Off behind a transaction-pooling
    #: PgBouncer (which cannot ``LISTEN``): workers see other processes' jobs at their
    #: next poll.
    notify: bool = True


class VectorSettings(_Section):
    #: "embedded" (faiss index files, see ``root``) or "pgvector" (PostgreSQL).
    backend: str = "embedded"
    #: Where the embedded backend keeps its index files: a folder or ``s3://bucket/prefix``.
    #: Empty: beside the artifacts when they are on S3 (``<artifacts>/vectors``), else
    #: beside an S3 lake (``<lake>/_vectors``), else ``<home>/vectors``.
    root: str | None = None
    #: boto3 options of an ``s3://`` ``root`` (``endpoint_url``, ``region_name``, ...).
    storage_options: dict[str, str] = Field(default_factory=dict)
    #: PostgreSQL URL for "pgvector" (default: the catalog URL).
    url: str | None = None
    #: Seconds a query trusts what it cached of an index (definition, the source
    #: table's owner, the loaded build) before asking the catalog whether it changed;
    #: 0 asks at every query (ADR 0022). Writes through this process are seen at once.
    recheck_seconds: float = Field(default=0.05, ge=0, le=60)


class PagingSettings(_Section):
    """Page sizes of every ``list_`` call (SDK, HTTP and CLI); see docs/concepts.md."""

    #: Rows per page when the caller gives no ``limit``.
    default_limit: int = Field(default=100, ge=1)
    #: Largest page; a larger ``limit`` is lowered to it (the page then has a next token).
    max_limit: int = Field(default=1000, ge=1)


class SecuritySettings(_Section):
    #: The principal the in-process SDK and the CLI act as (must exist).
    sdk_principal: str = "local-admin"
    #: The team that owns assets created without an explicit owner.
    default_team: str = "default"
    #: Longest time (s) the HTTP edges reuse a verified token's principal; a revocation
    #: or role change ends it at the next request (docs/adr/0003). 0: read every request.
    auth_cache: float = Field(default=1.0, ge=0, le=60)


class ServerSettings(_Section):
    #: Interface ``shipyard serve`` binds (``0.0.0.0`` to accept remote callers).
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    #: uvicorn worker processes.
    workers: int = Field(default=1, ge=1)
    #: Largest request body the API reads (413 past it).
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    #: Input rows one predict call may score (QuotaExceeded past it).
    max_predict_rows: int = Field(default=10_000, ge=1)


class ServingSettings(_Section):
    #: Deprecated alias of ``security.auth_cache`` (which it overrides when set).
    auth_cache: float | None = Field(default=None, ge=0, le=60)
    #: Address-space cap of each inference worker process (MB, ``RLIMIT_AS``); 0: none.
    worker_memory_mb: int = Field(default=8192, ge=0)
    #: Seconds a worker may take to start and load its model.
    worker_start_timeout: float = Field(default=120.0, gt=0)
    #: Seconds one prediction call may take in a worker before it is killed (503).
    worker_call_timeout: float = Field(default=60.0, gt=0)
    #: OS user the workers run as when the server runs as root (default: the server's).
    worker_user: str | None = None
    #: Seconds between a server process's writes of its buffered predictions to the
    #: prediction spool (the metadata database): what ``kill -9`` may lose (a clean stop
    #: loses nothing). 0 writes only on an explicit flush and at shutdown.
    log_flush_seconds: float = Field(default=0.5, ge=0)
    #: Seconds between the scheduled jobs that append the spooled predictions to the
    #: inference log's Delta table (queued only when the spool holds rows; readers such
    #: as deployment stats, canary checks and SLOs also flush first); 0: none (ADR 0052).
    log_compact_seconds: float = Field(default=5.0, ge=0)
    #: Seconds between the scheduler's checks of each running canary ramp (a job per
    #: ramp that judges it on the inference log: advance, hold or roll back); 0: none.
    canary_check_seconds: float = Field(default=10.0, ge=0)


class MonitoringSettings(_Section):
    """Drift thresholds (docs/monitoring.md): a feature drifts when a score reaches one."""

    drift_psi: float = Field(default=0.2, gt=0)
    drift_js: float = Field(default=0.1, gt=0, le=1)
    drift_ks: float = Field(default=0.1, gt=0, le=1)
    #: A score counts only when its test's p-value is below this (chi-square; KS for KS).
    drift_pvalue: float = Field(default=0.01, gt=0, le=1)
    #: A window with fewer rows is reported as insufficient data, never as drift.
    drift_min_rows: int = Field(default=100, ge=1)
    #: Per deployment, thresholds that replace the defaults (e.g. ``{churn: {psi: 0.1}}``).
    deployments: dict[str, dict[str, float]] = Field(default_factory=dict)
    #: Profile a model version's training set when the version is registered.
    profile_on_register: bool = True
    #: Event topic drift alerts are published on.
    alert_topic: str = "monitoring.alerts"
    #: URLs every alert (drift and SLO, firing and resolved) is POSTed to as JSON.
    alert_webhooks: list[Annotated[str, Field(pattern=r"^https?://\S+$")]] = Field(
        default_factory=list, max_length=20
    )
    #: Seconds between the scheduler's evaluations of each deployment's SLOs (a job per
    #: deployment with an SLO that opens and resolves its incidents); 0: none.
    slo_check_seconds: float = Field(default=60.0, ge=0)


class QuotaSettings(_Section):
    #: Where request rates are counted: ``memory://`` (this process; one API worker)
    #: or ``redis://host:port/db`` (shared by every worker and host). A ``limits`` URI.
    rate_storage: str = "memory://"
    #: With Redis: each process leases batches of the shared count and spends them
    #: locally, so a request does not wait on Redis; unspent tokens lapse after this
    #: many seconds. 0: every request is one exact moving-window round trip to Redis.
    rate_lease_seconds: float = Field(default=1.0, ge=0, le=60)
    #: Seconds a process keeps its copy of the quota table before reading it again.
    cache_seconds: float = Field(default=1.0, ge=0, le=300)
    #: At most one audit record per (scope, subject, resource) refused in this window.
    audit_window_seconds: float = Field(default=60.0, gt=0)
    #: ``Retry-After`` of a refusal that waiting alone does not end (jobs, storage, ...).
    retry_after_seconds: float = Field(default=60.0, gt=0)


class UsageSettings(_Section):
    #: Price per unit of each metric of ``system.usage`` (cpu_seconds, peak_memory_bytes,
    #: requests, compute_seconds, stored_bytes, online_rows, idle_cpu_seconds).
    prices: dict[str, float] = Field(default_factory=dict)
    #: Currency the price list is in (printed in reports).
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    #: CPU cores this deployment pays for per hour (default: this machine's cores).
    capacity_cores: float | None = Field(default=None, gt=0)


class BackupSettings(_Section):
    """Restore points (docs/operations.md#backup-and-restore)."""

    #: Folder or ``s3://bucket/prefix``; empty means ``<home>/backups``.
    root: str | None = None
    #: Options for an S3 root (``endpoint_url``, ``region_name``, keys), as for artifacts.
    storage_options: dict[str, str] = Field(default_factory=dict)
    #: Complete restore points kept by the retention policy (the newest ones).
    keep_last: int = Field(default=7, ge=1)
    #: An incomplete point (a crashed backup) older than this many hours is deleted.
    incomplete_hours: float = Field(default=24.0, gt=0)
    #: Files copied at once.
    parallelism: int = Field(default=4, ge=1, le=64)


class LineageSettings(_Section):
    """OpenLineage run events (docs/operations.md#openlineage); off by default."""

    #: "none" (the default), "file" (JSON lines) or "http" (an OpenLineage endpoint).
    transport: Literal["none", "file", "http"] = "none"
    #: The file for "file" (default ``<home>/openlineage.jsonl``).
    path: str | None = None
    #: The server for "http" (e.g. Marquez ``http://localhost:5000``) and its endpoint.
    url: str | None = None
    endpoint: str = "api/v1/lineage"
    api_key: SecretStr | None = None
    timeout: float = Field(default=5.0, gt=0, le=60)
    #: The namespace of Shipyard's jobs and datasets (default ``shipyard://<project>``).
    namespace: str | None = None

    @model_validator(mode="after")
    def _needs_url(self) -> LineageSettings:
        if self.transport == "http" and not self.url:
            raise ValueError("lineage.transport 'http' needs lineage.url")
        return self


_ENV_NAME = r"^[a-z][a-z0-9_-]{0,30}$"


class EnvironmentSettings(_Section):
    """Environments of one project (docs/operations.md#environments, ADR 0028)."""

    #: The environments, in promotion order (each promotes into the next).
    names: list[str] = Field(default_factory=lambda: ["dev", "staging", "prod"], min_length=1)
    #: Promotions into these need a second principal with the approve permission.
    protected: list[str] = Field(default_factory=lambda: ["prod"])
    #: Settings of one environment over the shared ones (e.g. ``{prod: {catalog: {url: ...}}}``).
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> EnvironmentSettings:
        import re

        for name in self.names:
            if not re.match(_ENV_NAME, name):
                raise ValueError(f"environment name '{name}': lower-case letters, digits, _ and -")
        if len(set(self.names)) != len(self.names):
            raise ValueError("an environment is named twice")
        unknown = sorted((set(self.protected) | set(self.overrides)) - set(self.names))
        if unknown:
            raise ValueError(f"unknown environment {unknown[0]!r} (not in environments.names)")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHIPYARD_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
    )

    project: str | None = None
    home: Path | None = None
    #: The environment this process acts in (one of ``environments.names``); none: the
    #: project as it was before environments (paths and stores unchanged).
    environment: str | None = None
    environments: EnvironmentSettings = Field(default_factory=EnvironmentSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    lake: LakeSettings = Field(default_factory=LakeSettings)
    online: OnlineSettings = Field(default_factory=OnlineSettings)
    artifacts: ArtifactSettings = Field(default_factory=ArtifactSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    events: EventSettings = Field(default_factory=EventSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    vectors: VectorSettings = Field(default_factory=VectorSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    paging: PagingSettings = Field(default_factory=PagingSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    quotas: QuotaSettings = Field(default_factory=QuotaSettings)
    usage: UsageSettings = Field(default_factory=UsageSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    lineage: LineageSettings = Field(default_factory=LineageSettings)

    # Resolved paths (filled by ``load_settings``).
    project_dir: Path = Field(default=Path("."), exclude=True)
    #: What the settings were validated from, before the environment's overrides.
    _raw: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _aliases(self) -> Settings:
        if self.serving.auth_cache is not None:  # the key's old home (before 2026-12)
            self.security.auth_cache = self.serving.auth_cache
        if self.environment is not None and self.environment not in self.environments.names:
            raise ValueError(
                f"unknown environment {self.environment!r}; environments.names are "
                f"{', '.join(self.environments.names)}"
            )
        return self

    @property
    def project_home(self) -> Path:
        """The platform home shared by every environment (``.shipyard/``)."""
        home = self.home or Path(".shipyard")
        return home if home.is_absolute() else (self.project_dir / home)

    @property
    def home_dir(self) -> Path:
        """This environment's home: ``<home>/envs/<environment>``, or the home without one."""
        if self.environment is None:
            return self.project_home
        return self.project_home / "envs" / self.environment

    @property
    def catalog_url(self) -> str:
        if self.catalog.url is None:
            return f"sqlite:///{self.home_dir / 'catalog.db'}"
        return environment_url(self.catalog.url, self.environment, self.owns("catalog", "url"))

    @property
    def catalog_schema(self) -> str | None:
        """The PostgreSQL schema of this environment's catalog (None: the database's default)."""
        url = self.catalog_url
        if (
            self.environment is None
            or not url.startswith("postgres")
            or self.owns("catalog", "url")
        ):
            return None
        return env_schema(self.environment)

    @property
    def vectors_url(self) -> str:
        """pgvector's database: ``vectors.url`` as given, else the environment's catalog."""
        if self.vectors.url is not None:
            return self.vectors.url
        if self.catalog.url is None:
            return self.catalog_url
        own = self.owns("catalog", "url")
        return environment_url(self.catalog.url, self.environment, own, public=True)

    @property
    def vectors_root(self) -> tuple[str, dict[str, str]]:
        """The embedded vector backend's root and its boto3 options (see ``vectors.root``)."""
        if self.vectors.root is not None:
            own = self.owns("vectors", "root")
            return self._env_root(self.vectors.root, "vectors", own), self.vectors.storage_options
        if self.artifact_root.startswith("s3://"):
            return f"{self.artifact_root.rstrip('/')}/vectors", self.artifacts.storage_options
        if self.lake_root.startswith("s3://"):
            options = {
                boto: self.lake.storage_options[delta]
                for delta, boto in _DELTA_TO_BOTO3.items()
                if delta in self.lake.storage_options
            }
            return f"{self.lake_root.rstrip('/')}/_vectors", options
        return str(self.home_dir / "vectors"), {}

    @property
    def lake_root(self) -> str:
        return self._env_root(self.lake.root, "lake", self.owns("lake", "root"))

    @property
    def artifact_root(self) -> str:
        return self._env_root(self.artifacts.root, "artifacts", self.owns("artifacts", "root"))

    @property
    def online_key_prefix(self) -> str:
        """The Redis key prefix of this environment's online store."""
        base = self.online.key_prefix or f"shipyard:{self.project}"
        if self.environment is None or self.owns("online", "key_prefix"):
            return base
        return f"{base}:{self.environment}"

    @property
    def protected(self) -> bool:
        """Promotions into this environment need an approver."""
        return self.environment in self.environments.protected

    def for_environment(self, name: str) -> Settings:
        """The settings of environment ``name`` of the same project (its overrides applied).

        Raises:
            InvalidArgument: ``name`` is not one of ``environments.names``.
        """
        from shipyard.errors import InvalidArgument

        if name not in self.environments.names:
            raise InvalidArgument(
                f"unknown environment '{name}'; environments are "
                f"{', '.join(self.environments.names)}",
                environment=str(name)[:64],
            )
        base = self._raw if self._raw is not None else self.model_dump(exclude={"environment"})
        settings = _build({**base, "environment": name})
        settings.project_dir = self.project_dir
        settings.project = self.project
        return settings

    def owns(self, section: str, key: str) -> bool:
        """Whether this environment's overrides set ``section.key`` itself (used as given)."""
        if self.environment is None:
            return False
        own = self.environments.overrides.get(self.environment, {})
        return isinstance(own.get(section), dict) and key in own[section]

    def _env_root(self, root: str | None, default: str, own: bool) -> str:
        if root is None:
            return str(self.home_dir / default)
        if self.environment is None or own:
            return root
        return f"{root.rstrip('/')}/{self.environment}"

    @property
    def backup_root(self) -> str:
        return self.backup.root or str(self.home_dir / "backups")

    @property
    def import_roots(self) -> list[Path]:
        """``registry.import_roots``, absolute and resolved (symlinks followed)."""
        return [(self.project_dir / root).resolve() for root in self.registry.import_roots]


#: delta-rs (object_store) S3 keys and the boto3 client keywords they match.
_DELTA_TO_BOTO3 = {
    "AWS_ENDPOINT_URL": "endpoint_url",
    "AWS_REGION": "region_name",
    "AWS_ACCESS_KEY_ID": "aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
}


def env_schema(environment: str) -> str:
    """The PostgreSQL schema an environment's catalog lives in."""
    return "shipyard_" + environment.replace("-", "_")


def environment_url(url: str, environment: str | None, own: bool, *, public: bool = False) -> str:
    """A shared catalog URL made this environment's own.

    SQLite: a file beside the shared one (``catalog.db`` -> ``catalog.<env>.db``);
    PostgreSQL: the same database with the environment's schema as the only schema
    on the search path (a table missing there must never be found in ``public``);
    ``public`` adds it after, for extension types such as pgvector's ``vector``.
    """
    if environment is None or own:
        return url
    if url.startswith("sqlite"):
        head, _, path = url.partition(":///")
        if not path or path == ":memory:":
            return url
        stem, dot, ext = path.rpartition(".")
        return (
            f"{head}:///{stem}.{environment}.{ext}"
            if dot and "/" not in ext
            else (f"{head}:///{path}.{environment}")
        )
    if url.startswith("postgres"):
        from urllib.parse import quote

        sep = "&" if "?" in url else "?"
        path = env_schema(environment) + (",public" if public else "")
        return f"{url}{sep}options={quote(f'-csearch_path={path}')}"
    return url


def _build(data: dict[str, Any]) -> Settings:
    """Validate ``data`` with its environment's overrides on top; keep ``data`` for siblings."""
    env = data.get("environment")
    envs = data.get("environments")
    merged = data
    if env and isinstance(envs, dict) and isinstance(envs.get("overrides"), dict):
        own = envs["overrides"].get(env)
        if isinstance(own, dict):
            merged = _deep_merge(data, own)
    settings = Settings.model_validate(merged)
    settings._raw = data
    return settings


def _env_overrides() -> dict[str, Any]:
    source = EnvSettingsSource(Settings, case_sensitive=False)
    data = source()
    return {k: v for k, v in data.items() if k in Settings.model_fields}


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def settings_env(settings: Settings) -> dict[str, str]:
    """``SHIPYARD_*`` variables that make another process load exactly ``settings``.

    For a child process (the demo's API server): whatever the source of each value
    (file, environment, overrides), the child opens the same catalog, lake and stores.
    """
    env = {"SHIPYARD_HOME": str(settings.project_home.resolve())}
    for key, value in settings.model_dump(exclude={"home"}).items():
        if isinstance(value, dict) and key in _SECTIONS:
            for field, inner in value.items():
                _put(env, f"SHIPYARD_{key}_{field}", inner)
        else:
            _put(env, f"SHIPYARD_{key}", value)
    return env


_SECTIONS = {
    name
    for name, f in Settings.model_fields.items()
    if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)
}


def _put(env: dict[str, str], name: str, value: Any) -> None:
    import json

    if value is None:
        return
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    structured = isinstance(value, dict | list | bool)
    env[name.upper()] = json.dumps(value) if structured else str(value)


def find_project(start: str | Path = ".") -> Path | None:
    """The nearest folder at or above ``start`` that is a Shipyard project, like git.

    A folder is a project when it holds ``shipyard.yaml`` or the platform home
    (``.shipyard/``). A ``start`` that does not exist is no project: nothing is created.
    """
    here = Path(start).expanduser().resolve()
    if not here.is_dir():
        return None
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".shipyard").is_dir():
            return folder
    return None


def load_settings(project_dir: str | Path = ".", **overrides: Any) -> Settings:
    """Read ``shipyard.yaml`` (if any), apply ``SHIPYARD_*`` and explicit overrides.

    Raises:
        ConfigError: the file is not valid YAML, names an unknown key, or a
            value has the wrong type; the message names the key and the file.
    """
    project = Path(project_dir).resolve()
    path = project / CONFIG_FILE
    file_data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}", file=str(path)) from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level", file=str(path))
        file_data = loaded
    env_data = _env_overrides()
    merged = _deep_merge(_deep_merge(file_data, env_data), overrides)
    try:
        settings = _build(merged)
    except ValidationError as exc:
        raise _config_error(exc, path, env=env_data, overrides=overrides) from None
    settings.project_dir = project
    if settings.project is None:
        settings.project = project.name
    return settings


def _config_error(
    exc: ValidationError, path: Path, *, env: dict[str, Any], overrides: dict[str, Any]
) -> ConfigError:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    key = ".".join(loc)
    # Name where the offending value came from (the winner: overrides > env > file).
    if _has(overrides, loc):
        where = "in the settings passed to Platform.open"
    elif _has(env, loc):
        where = f"from the environment variable SHIPYARD_{'_'.join(loc).upper()}"
    else:
        where = f"in {path}"
    if first["type"] == "extra_forbidden":
        message = f"unknown configuration key '{key}' {where}{_suggestion(loc)}"
    else:
        message = f"invalid configuration value for '{key}' {where}: {first['msg']}"
    return ConfigError(message, key=key, file=str(path))


def _has(data: dict[str, Any], loc: list[str]) -> bool:
    node: Any = data
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _suggestion(loc: list[str]) -> str:
    """`` (did you mean 'url'?)`` for a near miss of a known key, else nothing."""
    import difflib

    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    known = [k for k, f in model.model_fields.items() if not f.exclude]
    close = difflib.get_close_matches(loc[-1], known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
