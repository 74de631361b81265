"""``RemotePlatform``: ``shipyard.connect(url, token)``.

Each attribute is typed by its capability's Protocol, the same interface the
in-process ``Platform``'s services implement (ADR 0008).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from shipyard.client.http import HttpTransport
from shipyard.client.ops import build

if TYPE_CHECKING:
    from shipyard.backup.protocol import BackupAPI
    from shipyard.catalog.protocol import CatalogAPI
    from shipyard.environments.protocol import EnvironmentAPI
    from shipyard.events.protocol import EventAPI
    from shipyard.features.protocol import FeatureAPI
    from shipyard.governance.protocol import AuditAPI
    from shipyard.lake.protocol import LakeAPI
    from shipyard.lineage.protocol import LineageAPI
    from shipyard.monitoring.protocol import MonitoringAPI
    from shipyard.pipelines.protocol import JobAPI, PipelineAPI
    from shipyard.platform_code.protocol import PlatformCodeAPI
    from shipyard.quotas.protocol import QuotaAPI
    from shipyard.registry.protocol import RegistryAPI
    from shipyard.security.protocol import SecurityAPI
    from shipyard.serving.protocol import ServingAPI
    from shipyard.tracking.protocol import TrackingAPI
    from shipyard.training.protocol import TrainingAPI
    from shipyard.usage.protocol import UsageAPI
    from shipyard.vectors.protocol import VectorsAPI


class RemotePlatform:
    """The services of a Shipyard server, with the same methods as ``Platform``'s."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.http = HttpTransport(url, token, timeout=timeout)

    # Capability clients live in shipyard/client/<capability>.py, imported when first used.
    @cached_property
    def catalog(self) -> CatalogAPI:
        from shipyard.client.catalog import RemoteCatalogService

        return build(RemoteCatalogService, self.http)

    @cached_property
    def security(self) -> SecurityAPI:
        from shipyard.client.security import RemoteSecurityService

        return build(RemoteSecurityService, self.http)

    @cached_property
    def audit(self) -> AuditAPI:
        from shipyard.client.security import RemoteAuditService

        return build(RemoteAuditService, self.http)

    @cached_property
    def lake(self) -> LakeAPI:
        from shipyard.client.lake import RemoteLakeService

        return build(RemoteLakeService, self.http)

    @cached_property
    def features(self) -> FeatureAPI:
        from shipyard.client.features import RemoteFeatureService

        return build(RemoteFeatureService, self.http)

    @cached_property
    def tracking(self) -> TrackingAPI:
        from shipyard.client.tracking import RemoteTrackingService

        return build(RemoteTrackingService, self.http)

    @cached_property
    def registry(self) -> RegistryAPI:
        from shipyard.client.registry import RemoteRegistryService

        return build(RemoteRegistryService, self.http)

    @cached_property
    def serving(self) -> ServingAPI:
        from shipyard.client.serving import RemoteServingService

        return build(RemoteServingService, self.http)

    @cached_property
    def events(self) -> EventAPI:
        from shipyard.client.events import RemoteEventService

        return build(RemoteEventService, self.http)

    @cached_property
    def jobs(self) -> JobAPI:
        from shipyard.client.pipelines import RemoteJobService

        return build(RemoteJobService, self.http)

    @cached_property
    def pipelines(self) -> PipelineAPI:
        from shipyard.client.pipelines import RemotePipelineService

        return build(RemotePipelineService, self.http)

    @cached_property
    def vectors(self) -> VectorsAPI:
        from shipyard.client.vectors import RemoteVectorService

        return build(RemoteVectorService, self.http)

    @cached_property
    def quotas(self) -> QuotaAPI:
        from shipyard.client.operations import RemoteQuotaService

        return build(RemoteQuotaService, self.http)

    @cached_property
    def platform_code(self) -> PlatformCodeAPI:
        from shipyard.client.platform_code import RemotePlatformCodeService

        return build(RemotePlatformCodeService, self.http)

    @cached_property
    def usage(self) -> UsageAPI:
        from shipyard.client.operations import RemoteUsageService

        return build(RemoteUsageService, self.http)

    @cached_property
    def backup(self) -> BackupAPI:
        from shipyard.client.backup import RemoteBackupService

        return build(RemoteBackupService, self.http)

    @cached_property
    def environments(self) -> EnvironmentAPI:
        from shipyard.client.environments import RemoteEnvironmentService

        return build(RemoteEnvironmentService, self.http)

    @cached_property
    def lineage(self) -> LineageAPI:
        from shipyard.client.lineage import RemoteLineageService

        return build(RemoteLineageService, self.http)

    @cached_property
    def monitoring(self) -> MonitoringAPI:
        from shipyard.client.monitoring import RemoteMonitoringService

        return build(RemoteMonitoringService, self.http)

    @cached_property
    def training(self) -> TrainingAPI:
        from shipyard.client.training import RemoteTrainingService

        return build(RemoteTrainingService, self.http)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RemotePlatform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
