"""``RemoteRegistryService``: ``RegistryAPI`` over HTTP; models load from a local cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shipyard._internal.paging import Page, all_items
from shipyard.client.http import HttpTransport
from shipyard.client.ops import API, Args, RemoteService, local
from shipyard.registry.models import ModelVersion
from shipyard.registry.ops import OPS
from shipyard.registry.protocol import RegistryAPI
from shipyard.storage import safe_key
from shipyard.tracking.packaging.loaded import LoadedModel, load_model_dir


class RemoteRegistryService(RemoteService, RegistryAPI, ops=OPS):
    """``RegistryService`` over HTTP; downloaded models are cached by storage location."""

    def __init__(self, http: HttpTransport, *, cache_dir: Path | None = None) -> None:
        super().__init__(http)
        self._cache = cache_dir or Path.home() / ".cache" / "shipyard" / "models"
        self._loaded: dict[tuple[str, int, str], LoadedModel] = {}

    @local(RegistryAPI.list_model_versions)
    def list_model_versions(self, a: Args) -> Page[ModelVersion]:
        if a["name"] is not None:
            return self._send("list_model_versions", a)
        # Every version (of a run) across models: a route of its own.
        del a["name"]
        return Page[ModelVersion].model_validate(self._http.get(API + "/registry/versions", **a))

    @local(RegistryAPI.download_model)
    def download_model(self, a: Args) -> Path:
        mv = self.resolve(a["uri"])
        digest = hashlib.sha256(mv.storage_location.encode()).hexdigest()[:12]
        target = self._cache / safe_key(mv.name.replace(" ", "_"), str(mv.version), digest)
        if not (target / "MLmodel").is_file():
            files = all_items(lambda t: self.list_model_files(mv.name, mv.version, page_token=t))
            for rel in files:
                out = target / safe_key(rel)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(self.read_model_file(mv.name, mv.version, rel))
        return target

    @local(RegistryAPI.load_model)
    def load_model(self, a: Args) -> LoadedModel:
        mv = self.resolve(a["uri"])
        key = (mv.name, mv.version, mv.storage_location)
        if key not in self._loaded:
            self._loaded[key] = load_model_dir(self.download_model(mv.uri), uri=mv.uri)
        return self._loaded[key]
