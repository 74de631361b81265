"""``RemoteRegistryService``: ``RegistryService``'s methods over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from shipyard._internal.paging import Page
from shipyard.client.http import HttpTransport
from shipyard.registry.models import (
    AliasEvent,
    AliasPolicy,
    ModelVersion,
    PromotionRequest,
    RegisteredModel,
)
from shipyard.tracking.artifacts import safe_key
from shipyard.tracking.packaging.loaded import LoadedModel, load_model_dir

API = "/api/v1/registry"


def _q(value: str) -> str:
    return quote(value, safe="")


class RemoteRegistryService:
    def __init__(self, http: HttpTransport, *, cache_dir: Path | None = None) -> None:
        self._http = http
        self._cache = cache_dir or Path.home() / ".cache" / "shipyard" / "models"
        self._loaded: dict[tuple[str, int, str], LoadedModel] = {}

    def _m(self, name: str) -> str:
        return f"{API}/models/{_q(name)}"

    # -- models ------------------------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        owner: str | None = None,
    ) -> RegisteredModel:
        body = {
            "name": name,
            "description": description,
            "tags": dict(tags) if tags else None,
            "owner": owner,
        }
        return RegisteredModel.model_validate(self._http.post(f"{API}/models", body))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.model_validate(self._http.get(self._m(name)))

    def list_registered_models(
        self,
        *,
        name_like: str | None = None,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        data = self._http.get(
            f"{API}/models", name_like=name_like, page_size=page_size, page_token=page_token
        )
        return Page[RegisteredModel].model_validate(data)

    def update_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        delete_tags: list[str] | None = None,
    ) -> RegisteredModel:
        body = {
            "description": description,
            "tags": dict(tags) if tags else None,
            "delete_tags": delete_tags,
        }
        return RegisteredModel.model_validate(self._http.patch(self._m(name), body))

    def delete_registered_model(self, name: str) -> None:
        self._http.delete(self._m(name))

    # -- versions ------------------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        owner: str | None = None,
    ) -> ModelVersion:
        body = {
            "source": source,
            "run_id": run_id,
            "description": description,
            "tags": dict(tags) if tags else None,
            "owner": owner,
        }
        return ModelVersion.model_validate(self._http.post(f"{self._m(name)}/versions", body))

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.model_validate(self._http.get(f"{self._m(name)}/versions/{version}"))

    def list_model_versions(
        self,
        name: str | None = None,
        *,
        run_id: str | None = None,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        if name is None:
            data = self._http.get(
                f"{API}/versions", run_id=run_id, page_size=page_size, page_token=page_token
            )
        else:
            data = self._http.get(
                f"{self._m(name)}/versions", page_size=page_size, page_token=page_token
            )
        return Page[ModelVersion].model_validate(data)

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        delete_tags: list[str] | None = None,
    ) -> ModelVersion:
        body = {
            "description": description,
            "tags": dict(tags) if tags else None,
            "delete_tags": delete_tags,
        }
        return ModelVersion.model_validate(
            self._http.patch(f"{self._m(name)}/versions/{version}", body)
        )

    def delete_model_version(self, name: str, version: int) -> None:
        self._http.delete(f"{self._m(name)}/versions/{version}")

    # -- aliases and promotion --------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, *, comment: str | None = None
    ) -> PromotionRequest:
        body = {"version": int(version), "comment": comment}
        return PromotionRequest.model_validate(
            self._http.request("PUT", f"{self._m(name)}/aliases/{_q(alias)}", json=body)
        )

    def delete_alias(self, name: str, alias: str) -> None:
        self._http.delete(f"{self._m(name)}/aliases/{_q(alias)}")

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return ModelVersion.model_validate(self._http.get(f"{self._m(name)}/aliases/{_q(alias)}"))

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        data = self._http.get(f"{self._m(name)}/alias-history", alias=alias)
        return [AliasEvent.model_validate(e) for e in data]

    def get_promotion(self, request_id: str) -> PromotionRequest:
        return PromotionRequest.model_validate(self._http.get(f"{API}/promotions/{request_id}"))

    def list_promotions(
        self, *, name: str | None = None, status: str | None = None
    ) -> list[PromotionRequest]:
        data = self._http.get(f"{API}/promotions", name=name, status=status)
        return [PromotionRequest.model_validate(p) for p in data]

    def approve_promotion(self, request_id: str, *, comment: str | None = None) -> PromotionRequest:
        return PromotionRequest.model_validate(
            self._http.post(f"{API}/promotions/{request_id}/approve", {"comment": comment})
        )

    def reject_promotion(self, request_id: str, *, comment: str | None = None) -> PromotionRequest:
        return PromotionRequest.model_validate(
            self._http.post(f"{API}/promotions/{request_id}/reject", {"comment": comment})
        )

    def set_alias_policy(
        self,
        alias: str,
        *,
        name: str = "*",
        protected: bool = True,
        require_signature: bool = False,
        metric: str | None = None,
        min_value: float | None = None,
    ) -> AliasPolicy:
        body = {
            "name": name,
            "protected": protected,
            "require_signature": require_signature,
            "metric": metric,
            "min_value": min_value,
        }
        return AliasPolicy.model_validate(
            self._http.request("PUT", f"{API}/policies/{_q(alias)}", json=body)
        )

    def get_alias_policy(self, name: str, alias: str) -> AliasPolicy:
        return AliasPolicy.model_validate(self._http.get(f"{self._m(name)}/policies/{_q(alias)}"))

    # -- loading ----------------------------------------------------------------------------------

    def resolve(self, uri: str) -> ModelVersion:
        return ModelVersion.model_validate(self._http.get(f"{API}/resolve", uri=uri))

    def list_model_files(self, name: str, version: int) -> list[str]:
        return list(self._http.get(f"{self._m(name)}/versions/{version}/files"))

    def read_model_file(self, name: str, version: int, path: str) -> bytes:
        return bytes(
            self._http.request(
                "GET", f"{self._m(name)}/versions/{version}/files/content", params={"path": path}
            )
        )

    def download_model(self, uri: str) -> Path:
        mv = self.resolve(uri)
        digest = hashlib.sha256(mv.storage_location.encode()).hexdigest()[:12]
        target = self._cache / safe_key(mv.name.replace(" ", "_"), str(mv.version), digest)
        if not (target / "MLmodel").is_file():
            for rel in self.list_model_files(mv.name, mv.version):
                out = target / safe_key(rel)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(self.read_model_file(mv.name, mv.version, rel))
        return target

    def load_model(self, uri: str) -> LoadedModel:
        mv = self.resolve(uri)
        key = (mv.name, mv.version, mv.storage_location)
        if key not in self._loaded:
            self._loaded[key] = load_model_dir(self.download_model(mv.uri), uri=mv.uri)
        return self._loaded[key]
