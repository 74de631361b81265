"""``RemotePlatform``: ``shipyard.connect(url, token)``."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import quote

from shipyard._internal.paging import Page
from shipyard.catalog.models import Asset, AssetRef, AssetVersion, LineageGraph
from shipyard.client.http import HttpTransport
from shipyard.governance.models import AuditRecord, ChainReport
from shipyard.security.models import NewToken, Principal, Role, TokenInfo

API = "/api/v1"


def _ref(ref: str | AssetRef) -> str:
    # A path segment: keep the ``kind:name@version`` punctuation, escape the rest.
    return quote(str(ref), safe=":@")


def _seg(value: str) -> str:
    return quote(value, safe="")


class RemoteCatalogService:
    """``CatalogService`` over HTTP."""

    def __init__(self, http: HttpTransport) -> None:
        self._http = http

    def search(
        self,
        text: str | None = None,
        *,
        kind: str | None = None,
        tag: str | None = None,
        owner: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[Asset]:
        data = self._http.get(
            f"{API}/catalog/assets",
            q=text,
            kind=kind,
            tag=tag,
            owner=owner,
            page_size=page_size,
            page_token=page_token,
        )
        return Page[Asset].model_validate(data)

    def get_asset(self, ref: str | AssetRef) -> Asset:
        return Asset.model_validate(self._http.get(f"{API}/catalog/assets/{_ref(ref)}"))

    def list_versions(self, ref: str | AssetRef) -> list[AssetVersion]:
        data = self._http.get(f"{API}/catalog/assets/{_ref(ref)}/versions")
        return [AssetVersion.model_validate(v) for v in data]

    def register_asset(
        self,
        ref: str | AssetRef,
        *,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        properties: dict[str, Any] | None = None,
        sources: list[str] | None = None,
        operation: str = "derived",
    ) -> Asset:
        body = {
            "ref": str(ref),
            "owner": owner,
            "description": description,
            "tags": tags,
            "properties": properties,
            "sources": sources,
            "operation": operation,
        }
        return Asset.model_validate(self._http.post(f"{API}/catalog/assets", body))

    def update_asset(
        self,
        ref: str | AssetRef,
        *,
        description: str | None = None,
        owner: str | None = None,
        tags: list[str] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> Asset:
        body = {"description": description, "owner": owner, "tags": tags, "properties": properties}
        return Asset.model_validate(self._http.patch(f"{API}/catalog/assets/{_ref(ref)}", body))

    def lineage(
        self, ref: str | AssetRef, *, direction: str = "upstream", depth: int = 5
    ) -> LineageGraph:
        data = self._http.get(
            f"{API}/catalog/assets/{_ref(ref)}/lineage", direction=direction, depth=depth
        )
        return LineageGraph.model_validate(data)


class RemoteSecurityService:
    """``SecurityService`` over HTTP (minus ``authenticate``, which is the server's job)."""

    def __init__(self, http: HttpTransport) -> None:
        self._http = http

    def whoami(self) -> Principal:
        return Principal.model_validate(self._http.get(f"{API}/whoami"))

    def create_principal(
        self,
        name: str,
        *,
        kind: str = "user",
        team: str | None = None,
        role: str | Role = Role.VIEWER,
    ) -> Principal:
        body = {"name": name, "kind": kind, "team": team, "role": str(role)}
        return Principal.model_validate(self._http.post(f"{API}/principals", body))

    def grant(self, name: str, *, team: str, role: str | Role) -> Principal:
        body = {"team": team, "role": str(role)}
        return Principal.model_validate(
            self._http.post(f"{API}/principals/{_seg(name)}/roles", body)
        )

    def revoke_role(self, name: str, *, team: str) -> Principal:
        return Principal.model_validate(
            self._http.delete(f"{API}/principals/{_seg(name)}/roles/{_seg(team)}")
        )

    def get_principal(self, name: str) -> Principal:
        return Principal.model_validate(self._http.get(f"{API}/principals/{_seg(name)}"))

    def list_principals(self) -> list[Principal]:
        return [Principal.model_validate(p) for p in self._http.get(f"{API}/principals")]

    def create_token(
        self,
        *,
        principal: str | None = None,
        name: str = "default",
        expires_in: timedelta | None = timedelta(days=90),
    ) -> NewToken:
        body = {
            "principal": principal,
            "name": name,
            "expires_in_days": expires_in.total_seconds() / 86400 if expires_in else None,
        }
        return NewToken.model_validate(self._http.post(f"{API}/tokens", body))

    def list_tokens(self, *, principal: str | None = None) -> list[TokenInfo]:
        return [
            TokenInfo.model_validate(t)
            for t in self._http.get(f"{API}/tokens", principal=principal)
        ]

    def revoke_token(self, token_id: str) -> TokenInfo:
        return TokenInfo.model_validate(self._http.delete(f"{API}/tokens/{_seg(token_id)}"))


class RemoteAuditService:
    """``AuditService`` over HTTP."""

    def __init__(self, http: HttpTransport) -> None:
        self._http = http

    def list_records(
        self,
        *,
        principal: str | None = None,
        action: str | None = None,
        asset: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditRecord]:
        data = self._http.get(
            f"{API}/audit",
            principal=principal,
            action=action,
            asset=asset,
            outcome=outcome,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            page_size=page_size,
            page_token=page_token,
        )
        return Page[AuditRecord].model_validate(data)

    def verify(self) -> ChainReport:
        return ChainReport.model_validate(self._http.post(f"{API}/audit/verify", {}))


class RemotePlatform:
    """The services of a Shipyard server, with the same methods as ``Platform``'s."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.http = HttpTransport(url, token, timeout=timeout)

    @cached_property
    def catalog(self) -> RemoteCatalogService:
        return RemoteCatalogService(self.http)

    @cached_property
    def security(self) -> RemoteSecurityService:
        return RemoteSecurityService(self.http)

    @cached_property
    def audit(self) -> RemoteAuditService:
        return RemoteAuditService(self.http)

    # Capability clients live in shipyard/client/<capability>.py, one module each.
    @cached_property
    def lake(self) -> Any:
        from shipyard.client.lake import RemoteLakeService

        return RemoteLakeService(self.http)

    @cached_property
    def features(self) -> Any:
        from shipyard.client.features import RemoteFeatureService

        return RemoteFeatureService(self.http)

    @cached_property
    def tracking(self) -> Any:
        from shipyard.client.tracking import RemoteTrackingService

        return RemoteTrackingService(self.http)

    @cached_property
    def registry(self) -> Any:
        from shipyard.client.registry import RemoteRegistryService

        return RemoteRegistryService(self.http)

    @cached_property
    def serving(self) -> Any:
        from shipyard.client.serving import RemoteServingService

        return RemoteServingService(self.http)

    @cached_property
    def events(self) -> Any:
        from shipyard.client.events import RemoteEventService

        return RemoteEventService(self.http)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RemotePlatform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
