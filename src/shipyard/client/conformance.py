"""mypy's proof that both sides implement each capability Protocol (never run).

``Platform``'s services and ``RemotePlatform``'s clients are assigned to the
Protocol types; a missing method or a changed signature on either side is a
type error. ``tests/unit/client/test_signatures.py`` adds what mypy does not
check: the same parameter names, kinds and defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.backup.protocol import BackupAPI
    from shipyard.catalog.protocol import CatalogAPI
    from shipyard.client.platform import RemotePlatform
    from shipyard.events.protocol import EventAPI
    from shipyard.features.protocol import FeatureAPI
    from shipyard.governance.protocol import AuditAPI
    from shipyard.lake.protocol import LakeAPI
    from shipyard.lineage.protocol import LineageAPI
    from shipyard.monitoring.protocol import MonitoringAPI
    from shipyard.pipelines.protocol import JobAPI, PipelineAPI
    from shipyard.platform import Platform
    from shipyard.platform_code.protocol import PlatformCodeAPI
    from shipyard.quotas.protocol import QuotaAPI
    from shipyard.registry.protocol import RegistryAPI
    from shipyard.security.protocol import SecurityAPI
    from shipyard.serving.protocol import ServingAPI
    from shipyard.tracking.protocol import TrackingAPI
    from shipyard.training.protocol import TrainingAPI
    from shipyard.usage.protocol import UsageAPI
    from shipyard.vectors.protocol import VectorsAPI


def _both_sides(p: Platform, r: RemotePlatform) -> None:  # pragma: no cover - mypy only
    from shipyard.client.catalog import RemoteCatalogService
    from shipyard.client.events import RemoteEventService
    from shipyard.client.features import RemoteFeatureService
    from shipyard.client.lake import RemoteLakeService
    from shipyard.client.monitoring import RemoteMonitoringService
    from shipyard.client.pipelines import RemoteJobService, RemotePipelineService
    from shipyard.client.registry import RemoteRegistryService
    from shipyard.client.security import RemoteAuditService, RemoteSecurityService
    from shipyard.client.serving import RemoteServingService
    from shipyard.client.tracking import RemoteTrackingService
    from shipyard.client.training import RemoteTrainingService
    from shipyard.client.vectors import RemoteVectorService

    for platform in (p, r):
        catalog: CatalogAPI = platform.catalog
        security: SecurityAPI = platform.security
        audit: AuditAPI = platform.audit
        lake: LakeAPI = platform.lake
        features: FeatureAPI = platform.features
        tracking: TrackingAPI = platform.tracking
        registry: RegistryAPI = platform.registry
        serving: ServingAPI = platform.serving
        events: EventAPI = platform.events
        jobs: JobAPI = platform.jobs
        pipelines: PipelineAPI = platform.pipelines
        del catalog, security, audit, lake, features, tracking, registry, serving, events
        del jobs, pipelines
        vectors: VectorsAPI = platform.vectors
        del vectors
        quotas: QuotaAPI = platform.quotas
        usage: UsageAPI = platform.usage
        del quotas, usage
        monitoring: MonitoringAPI = platform.monitoring
        del monitoring
        training: TrainingAPI = platform.training
        del training
    # The client classes themselves (their written-out methods are checked as overrides).
    clients: list[type] = [
        RemoteCatalogService,
        RemoteSecurityService,
        RemoteAuditService,
        RemoteLakeService,
        RemoteFeatureService,
        RemoteTrackingService,
        RemoteTrainingService,
        RemoteRegistryService,
        RemoteServingService,
        RemoteEventService,
        RemoteJobService,
        RemotePipelineService,
        RemoteVectorService,
        RemoteMonitoringService,
    ]
    from shipyard.client.operations import RemoteQuotaService, RemoteUsageService

    clients += [RemoteQuotaService, RemoteUsageService]
    del clients
    for side in (p, r):
        backup: BackupAPI = side.backup
        lineage: LineageAPI = side.lineage
        del backup, lineage
    from shipyard.client.backup import RemoteBackupService
    from shipyard.client.lineage import RemoteLineageService
    from shipyard.client.platform_code import RemotePlatformCodeService

    del RemoteBackupService, RemoteLineageService, RemotePlatformCodeService
    for side in (p, r):
        platform_code: PlatformCodeAPI = side.platform_code
        del platform_code
