"""Every Protocol method has the same signature and defaults on the service and the client.

mypy proves both sides *accept* the Protocol's calls (``shipyard.client.conformance``);
this test adds what mypy lets slide: parameter names, kinds, defaults and
annotations must be identical. A service may have more keyword arguments only
when they make no sense over HTTP (``LOCAL_ONLY``), and every public service
method is either in the Protocol or listed, with its reason, in ``SERVICE_ONLY``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from typing import Any

import pytest

from shipyard.client.ops import protocol_methods

# (protocol, service, client) as "module:Class"
CAPABILITIES = {
    "catalog": ("catalog.protocol:CatalogAPI", "catalog.service:CatalogService", "catalog:RemoteCatalogService"),
    "security": ("security.protocol:SecurityAPI", "security.service:SecurityService", "security:RemoteSecurityService"),
    "audit": ("governance.protocol:AuditAPI", "governance.service:AuditService", "security:RemoteAuditService"),
    "lake": ("lake.protocol:LakeAPI", "lake.service:LakeService", "lake:RemoteLakeService"),
    "features": ("features.protocol:FeatureAPI", "features.service:FeatureService", "features:RemoteFeatureService"),
    "tracking": ("tracking.protocol:TrackingAPI", "tracking.service:TrackingService", "tracking:RemoteTrackingService"),
    "registry": ("registry.protocol:RegistryAPI", "registry.service:RegistryService", "registry:RemoteRegistryService"),
    "serving": ("serving.protocol:ServingAPI", "serving.service:ServingService", "serving:RemoteServingService"),
    "events": ("events.protocol:EventAPI", "events.service:EventService", "events:RemoteEventService"),
    "jobs": ("pipelines.protocol:JobAPI", "pipelines.service:JobService", "pipelines:RemoteJobService"),
    "pipelines": ("pipelines.protocol:PipelineAPI", "pipelines.pipeline_service:PipelineService", "pipelines:RemotePipelineService"),
    "vectors": ("vectors.protocol:VectorsAPI", "vectors.service:VectorService", "vectors:RemoteVectorService"),
    "quotas": ("quotas.protocol:QuotaAPI", "quotas.service:QuotaService", "operations:RemoteQuotaService"),
    "platform_code": ("platform_code.protocol:PlatformCodeAPI", "platform_code.service:PlatformCodeService", "platform_code:RemotePlatformCodeService"),
    "usage": ("usage.protocol:UsageAPI", "usage.service:UsageService", "operations:RemoteUsageService"),
    "backup": ("backup.protocol:BackupAPI", "backup.service:BackupService", "backup:RemoteBackupService"),
    "environments": ("environments.protocol:EnvironmentAPI", "environments.service:EnvironmentService", "environments:RemoteEnvironmentService"),
    "lineage": ("lineage.protocol:LineageAPI", "lineage.service:LineageService", "lineage:RemoteLineageService"),
    "monitoring": ("monitoring.protocol:MonitoringAPI", "monitoring.service:MonitoringService", "monitoring:RemoteMonitoringService"),
    "training": ("training.protocol:TrainingAPI", "training.service:TrainingService", "training:RemoteTrainingService"),
}  # fmt: skip

#: Keyword arguments a service may add: callbacks that cannot cross HTTP.
#: ``export_model``'s ``holdout`` (a DataFrame) and ``output`` (a path on the server's disk).
LOCAL_ONLY = {"on_progress", "holdout", "output"}

#: Public service methods that are not part of the remote interface, and why.
SERVICE_ONLY = {
    "security": {"authenticate": "the server checks tokens; a client holds one"},
    "catalog": {
        "lineage_keys": "the web UI's lineage graph; API clients use lineage",
        "teams": "the web UI's team filter; API clients list teams through security",
    },
    "lake": {
        "ingest": "reads files on the server's disk",
        "reconcile": "an operator's repair of the server's lake",
        "list_definitions": "returns Python function definitions",
    },
    "vectors": {
        "follow_view": "called by materialize on the server (ADR 0035), not a route",
        "aquery": "the query route's event-loop path (ADR 0040); clients call query",
    },
    "tracking": {
        "local_cache_dir": "a path on the server",
        "proxy_get": "the MLflow artifact proxy, served by the MLflow routes",
        "proxy_put": "the MLflow artifact proxy, served by the MLflow routes",
        "proxy_list": "the MLflow artifact proxy, served by the MLflow routes",
        "create_logged_model": "MLflow 3 logged models, served by the MLflow routes",
        "search_logged_models": "MLflow 3 logged models, served by the MLflow routes",
        "update_logged_model": "MLflow 3 logged models, served by the MLflow routes",
        "log_dataset": "MLflow dataset inputs, served by the MLflow routes",
        "resolve_experiment": "a helper of the MLflow routes",
        "metric_buckets": "the web UI's compare charts; API clients read whole histories",
    },
    "platform_code": {
        "export": "environment promotion reads the source's state in-process (ADR 0028)",
        "plan_kinds": "environment promotion plans its kinds in-process (ADR 0028)",
        "trusting_code": "plans on-demand view code from another environment's catalog",
    },
    "registry": {
        "register_promoted": "reads a folder of another environment on the server",
        "latest_versions": "a helper of the MLflow routes' registered-model search",
    },
    "serving": {
        "apredict": "predict on the inference server's event loop; remote callers use predict",
        "check_canaries": "what the scheduled canary jobs run, for every ramp",
        "check_canary": "the scheduled canary job of one deployment (step_actions)",
        "run_stream": "a long-running consumer on the server",
    },
    "events": {
        "to_lake": "a long-running sink on the server",
        "to_features": "a long-running sink on the server",
    },
    "jobs": {
        "submit": "no HTTP route: jobs are queued by pipelines and in-process code",
        "submit_many": "no HTTP route: jobs are queued by pipelines and in-process code",
        "submit_action": "over HTTP the long-operation routes themselves answer 202 and the job",
        "announce": "what a worker calls when it records jobs (lifecycle events)",
        "enforce_quota": "training checks the concurrent_jobs cap before it queues its jobs",
        "enforce_held": "training checks the cpus/gpus caps before it queues its jobs",
    },
    "monitoring": {
        "thresholds": "the server's settings; every drift report carries the ones it used",
        "metrics_text": "Prometheus scrapes GET /metrics (text, outside /api/v1)",
        "readiness": "the probe at /v2/health/ready",
        "profile_on_register": "the registry's hook on the server",
        "gauges": "numbers for the server's /metrics",
    },
    "pipelines": {
        "plan": "takes Python pipeline objects; over HTTP specs travel as JSON (POST /pipelines/plan)",
        "apply": "takes Python pipeline objects; over HTTP specs travel as JSON (POST /pipelines/apply)",
        "scheduler": "the server's scheduling loop",
        "validate": "checks a local PipelineSpec object; plan/apply validate on the server",
        "downstream": "`shipyard pipelines show` in the project (ADR 0041); no route yet",
    },
    "quotas": {
        "enforce": "called by other services before they add to a capped resource",
        "measure": "platform-as-code checks a planned quota against use in-process",
        "caps": "a training job's worker reads the cpus/gpus caps it waits under",
        "enforce_request": "training refuses a job larger than a whole cpus/gpus cap",
    },
    "usage": {"record_jobs": "workers record what their jobs used, in-process"},
    "training": {
        "run": "calls a Python function in this process (HTTP callers submit a job)",
        "data_ref": "a helper: where a training set's rows are in the lake",
    },
}


def _load(spec: str, prefix: str) -> Any:
    module, name = spec.split(":")
    return getattr(importlib.import_module(f"{prefix}.{module}"), name)


def _classes(cap: str) -> tuple[type, type, type]:
    proto, service, client = CAPABILITIES[cap]
    return _load(proto, "shipyard"), _load(service, "shipyard"), _load(client, "shipyard.client")


def _ann(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    return ast.unparse(ast.parse(text))  # the same spelling however it was written


def _same_default(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is object or type(b) is object:  # sentinels must be the very same object
        return False
    return bool(type(a) is type(b) and a == b)


def _compare(
    expected: inspect.Signature, got: inspect.Signature, *, extra_ok: set[str]
) -> list[str]:
    problems = []
    want, have = list(expected.parameters.values()), list(got.parameters.values())
    for i, p in enumerate(want):
        q = have[i] if i < len(have) and have[i].kind == p.kind else got.parameters.get(p.name)
        if q is None:
            problems.append(f"missing {p.name}")
            continue
        if (q.name, q.kind) != (p.name, p.kind):
            problems.append(f"{p.name}: {q.name} {q.kind.name} instead of {p.kind.name}")
        if not _same_default(p.default, q.default):
            problems.append(f"{p.name}: default {q.default!r} instead of {p.default!r}")
        if _ann(p.annotation) != _ann(q.annotation):
            problems.append(f"{p.name}: {_ann(q.annotation)} instead of {_ann(p.annotation)}")
    for q in have:
        if q.name not in expected.parameters:
            if q.name in extra_ok and q.kind is q.KEYWORD_ONLY and q.default is not q.empty:
                continue
            problems.append(f"extra parameter {q.name}")
    if _ann(expected.return_annotation) != _ann(got.return_annotation):
        problems.append(
            f"returns {_ann(got.return_annotation)} instead of {_ann(expected.return_annotation)}"
        )
    return problems


CASES = [(cap, name) for cap in CAPABILITIES for name in sorted(protocol_methods(_classes(cap)[0]))]


@pytest.mark.parametrize(("cap", "method"), CASES, ids=[f"{c}.{m}" for c, m in CASES])
def test_service_and_client_match_the_protocol(cap: str, method: str) -> None:
    proto, service, client = _classes(cap)
    expected = inspect.signature(getattr(proto, method))
    svc = _compare(expected, inspect.signature(getattr(service, method)), extra_ok=LOCAL_ONLY)
    remote = _compare(expected, inspect.signature(getattr(client, method)), extra_ok=set())
    assert not svc, f"{service.__name__}.{method} drifted: {svc}"
    assert not remote, f"{client.__name__}.{method} drifted: {remote}"


@pytest.mark.parametrize("cap", list(CAPABILITIES))
def test_every_public_service_method_is_remote_or_listed(cap: str) -> None:
    proto, service, _ = _classes(cap)
    public = {
        n for n, v in inspect.getmembers(service) if not n.startswith("_") and callable(v)
    } - {n for n, v in inspect.getmembers(service) if isinstance(v, type)}
    missing = public - set(protocol_methods(proto)) - set(SERVICE_ONLY.get(cap, {}))
    assert not missing, f"{service.__name__}: add {sorted(missing)} to {proto.__name__}"
    stale = set(SERVICE_ONLY.get(cap, {})) - public
    assert not stale, f"SERVICE_ONLY names methods {service.__name__} no longer has: {stale}"


def test_a_drift_is_caught() -> None:
    def protocol(self: Any, name: str, *, owner: str | None = None) -> None: ...
    def dropped(self: Any, name: str, **_: Any) -> None: ...
    def other_default(self: Any, name: str, *, owner: str | None = "x") -> None: ...

    sig = inspect.signature
    assert _compare(sig(protocol), sig(dropped), extra_ok=set())
    assert _compare(sig(protocol), sig(other_default), extra_ok=set())
    assert not _compare(sig(protocol), sig(protocol), extra_ok=set())


@pytest.mark.parametrize("cap", list(CAPABILITIES))
def test_no_client_method_retypes_the_protocol_signature(cap: str) -> None:
    """A client method is generated from its table entry or a ``@local`` body (ADR 0031)."""
    proto, _, client = _classes(cap)
    copies = []
    for name, declared in protocol_methods(proto).items():
        owner = next(k for k in client.__mro__ if name in vars(k))
        if not owner.__module__.startswith("shipyard.client."):
            continue  # a mixin written once and shared with the service
        if getattr(vars(owner)[name], "__wrapped__", None) is not declared:
            copies.append(name)
    assert not copies, f"{client.__name__} re-types {copies}: use @local({proto.__name__}.<name>)"
