"""The model registry: the one entry point for the SDK, the CLI and the HTTP API."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from shipyard._internal.clock import utcnow
from shipyard._internal.paging import (
    Key,
    Keyset,
    Page,
    keyset_page,
    listing_teams,
    page_in_memory,
    readable_teams,
    resolve_limit,
    team_filter,
)
from shipyard._internal.shared import Shared
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.registry import store
from shipyard.registry.models import ModelVersion, RegisteredModel
from shipyard.registry.promotion import PromotionMixin
from shipyard.registry.sources import Source, SourceResolver, copy_folder
from shipyard.registry.tables import model_versions, registered_models
from shipyard.security.models import Permission
from shipyard.storage import ArtifactStore, safe_key, walk_files
from shipyard.tracking.packaging.loaded import LoadedModel, load_model_dir
from shipyard.tracking.packaging.mlmodel import signature_of

_NAME = re.compile(r"^[\w.\- ]{1,256}$")


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.strip() != name:
        raise InvalidArgument(
            f"invalid model name '{name}': 1 to 256 letters, digits, _ - . or spaces",
            name=str(name),
        )
    return name


def parse_model_uri(uri: str) -> tuple[str, int | None, str | None]:
    """``models:/name/3`` -> (name, 3, None); ``models:/name@champion`` -> (name, None, alias)."""
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise InvalidArgument(
            f"model URI '{uri}' must look like models:/<name>/<version> or models:/<name>@<alias>",
            uri=str(uri),
        )
    body = uri[len("models:/") :].strip("/")
    if "@" in body:
        name, _, alias = body.rpartition("@")
        if name and alias:
            return name, None, alias
    name, _, ver = body.rpartition("/")
    if name and ver.isdigit():
        return name, int(ver), None
    if name and ver == "latest":
        return name, None, "latest"
    raise InvalidArgument(
        f"model URI '{uri}' must look like models:/<name>/<version> or models:/<name>@<alias>",
        uri=uri,
    )


@dataclass
class RegistryState:
    """What the registry keeps per platform: loaded models, by (name, version, location)."""

    loaded: dict[tuple[str, int, str], LoadedModel] = field(default_factory=dict)


class RegistryService(PromotionMixin, Service):
    """Registered models, versions with signatures and lineage, aliases under governance."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        artifacts: Shared[ArtifactStore],
        state: RegistryState,
        on_register: Callable[[str, int], None] | None = None,
    ) -> None:
        super().__init__(ctx)
        self._artifact_store = artifacts  # the run artifacts model versions point into
        self._state = state
        #: Called with (name, version) after a version is registered (monitoring's drift
        #: reference profile); it must not raise.
        self._on_register = on_register

    @property
    def _artifacts(self) -> ArtifactStore:
        return self._artifact_store.get()

    def _owner_of(self, conn: Connection, name: str) -> str:
        return str(store.model_row(conn, name).owner)

    def _version(self, conn: Connection, name: str, version: int) -> ModelVersion:
        return store.to_versions(conn, [store.version_row(conn, name, version)])[0]

    # -- registered models ----------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        owner: str | None = None,
    ) -> RegisteredModel:
        """Raises AlreadyExists, InvalidArgument (bad name)."""
        check_model_name(name)
        team = owner or self._ctx.default_team
        with self._ctx.mutation("registry.create_model", team=team, asset=f"model:{name}") as m:
            self._insert_model(m.conn, name, team, description, tags)
            return store.to_models(m.conn, [store.model_row(m.conn, name)])[0]

    def _insert_model(
        self,
        conn: Connection,
        name: str,
        team: str,
        description: str | None,
        tags: Mapping[str, str] | None,
    ) -> None:
        store.insert_model(
            conn,
            name=name,
            owner=team,
            description=description or "",
            tags=dict(tags or {}),
            created_by=self._ctx.principal.name,
            now=utcnow(),
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Raises NotFound."""
        with self._ctx.db.connect() as conn:
            row = store.model_row(conn, name)
            self._ctx.require(Permission.READ, row.owner, action="registry.get_model")
            return store.to_models(conn, [row])[0]

    def list_registered_models(
        self,
        *,
        name_like: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """Models the caller may read, by name (``name_like`` is a SQL LIKE pattern)."""
        teams = listing_teams(self._ctx, action="registry.list_models")
        size = resolve_limit(self._ctx.settings, limit)
        q = sa.select(registered_models).where(team_filter(registered_models.c.owner, teams))
        if name_like:
            q = q.where(sa.func.lower(registered_models.c.name).like(name_like.lower()))
        keyset = Keyset("registry.models", Key(registered_models.c.name))
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(
                conn, q, keyset, limit=size, page_token=page_token, filters={"like": name_like}
            )
            return Page(items=store.to_models(conn, rows), next_page_token=token)

    def latest_versions(self, names: list[str]) -> dict[str, ModelVersion]:
        """The newest version of each of ``names``, by name, in one query.

        Models that do not exist, have no version or that the caller may not read
        are left out (an edge listing models asks once per page, not once per model).
        """
        with self._ctx.db.connect() as conn:
            rows = [
                r
                for r in store.latest_version_rows(conn, list(names))
                if self.principal.can(Permission.READ, r.owner)
            ]
            return {v.name: v for v in store.to_versions(conn, rows)}

    def update_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        delete_tags: list[str] | None = None,
    ) -> RegisteredModel:
        """Change the description, set or delete tags."""
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name)
        with self._ctx.mutation("registry.update_model", team=team, asset=f"model:{name}") as m:
            row = store.model_row(m.conn, name)
            values: dict[str, Any] = {"updated_at": utcnow()}
            if description is not None:
                values["description"] = description
            if tags or delete_tags:
                merged = {**(row.tags or {}), **{k: str(v) for k, v in (tags or {}).items()}}
                for key in delete_tags or []:
                    merged.pop(key, None)
                values["tags"] = merged
            store.update_model(m.conn, name, values)
            return store.to_models(m.conn, [store.model_row(m.conn, name)])[0]

    def delete_registered_model(self, name: str) -> None:
        """Delete the model, its versions and aliases (the catalog keeps its history)."""
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name)
        with self._ctx.mutation("registry.delete_model", team=team, asset=f"model:{name}") as m:
            store.delete_model(m.conn, name)

    # -- versions ------------------------------------------------------------------------

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
        """Register a new version of ``name`` (created if missing) from ``source``.

        ``source`` is ``runs:/<run_id>/<path>``, ``models:/<logged model id>``,
        ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
        ``mlflow-artifacts:/<experiment>/<run>/artifacts/<path>`` (each readable by
        the caller), or for an admin a local folder under ``registry.import_roots``
        (copied into the registry); see ``shipyard.registry.sources``. Records the
        catalog asset ``model:<name>@<version>`` and the lineage edge from ``run:<run_id>``.

        Raises:
            NotFound: the run or model does not exist. InvalidArgument: a bad source or
            one that leaves its artifacts. PermissionDenied: the caller may not read it.
        """
        check_model_name(name)
        found = SourceResolver(self._ctx, self.resolve).resolve(source, run_id)
        return self._register(name, source, found, description=description, tags=tags, owner=owner)

    def register_promoted(
        self,
        name: str,
        folder: Path,
        *,
        source: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        owner: str | None = None,
    ) -> ModelVersion:
        """Register the files of a version promoted from another environment (ADR 0028).

        Not on the wire: ``folder`` is the source version's files, which the environment
        service fetched as the requester; ``source`` names it (``dev:models:/churn/3``).
        Needs WRITE on the model's team here, like any registration.
        """
        check_model_name(name)
        found = Source(key=None, run_id=None, folder=folder)
        return self._register(name, source, found, description=description, tags=tags, owner=owner)

    def _register(
        self,
        name: str,
        source: str,
        found: Source,
        *,
        description: str | None,
        tags: Mapping[str, str] | None,
        owner: str | None,
    ) -> ModelVersion:
        key, run_id = found.key or "", found.run_id
        mlmodel = self._read_mlmodel(found)
        signature = signature_of(mlmodel) if mlmodel else None
        flavor = ((mlmodel or {}).get("shipyard") or {}).get("flavor")
        if mlmodel and not flavor:
            flavor = next(
                (f for f in mlmodel.get("flavors", {}) if f != "python_function"), "python_function"
            )
        with self._ctx.db.connect() as conn:
            current = store.find_model_owner(conn, name)
        team = current if current is not None else (owner or self._ctx.default_team)
        with self._ctx.mutation("registry.register_model", team=team, asset=f"model:{name}") as m:
            if current is None:
                with contextlib.suppress(AlreadyExists):  # registered concurrently
                    self._insert_model(m.conn, name, team, None, None)
            version = (store.latest_version(m.conn, name) or 0) + 1
            if found.folder is not None:
                key = safe_key("registry", name, str(version))
                copy_folder(self._artifacts, found.folder, key, max_entries=self._max_entries)
            now = utcnow()
            store.insert_version(
                m.conn,
                name=name,
                version=version,
                source=source,
                storage_location=key,
                run_id=run_id,
                status="READY",
                description=description or "",
                flavor=flavor,
                signature=signature,
                metrics={},
                tags=dict(tags or {}),
                created_by=self._ctx.principal.name,
                created_at=now,
                updated_at=now,
            )
            self._catalog_version(m.conn, name, team, version, run_id, flavor, signature)
            m.asset = f"model:{name}@{version}"
            m.details = {"source": source, "run_id": run_id}
            registered = self._version(m.conn, name, version)
        if self._on_register is not None:
            self._on_register(name, version)  # the drift reference; never fails this
        return registered

    def _catalog_version(
        self,
        conn: Connection,
        name: str,
        team: str,
        version: int,
        run_id: str | None,
        flavor: str | None,
        signature: Any,
    ) -> None:
        asset = self._ctx.catalog.upsert(
            conn,
            kind="model",
            name=name,
            owner=team,
            created_by=self._ctx.principal.name,
            properties={
                "latest_version": version,
                "flavor": flavor,
                "has_signature": bool(signature),
                "run_id": run_id,
            },
            version=version,
        )
        if run_id:
            run_asset = self._ctx.catalog.find(conn, "run", run_id)
            if run_asset is not None:
                self._ctx.catalog.add_edge(
                    conn,
                    run_asset,
                    asset,
                    operation="register",
                    created_by=self._ctx.principal.name,
                    target_version=version,
                )

    def _read_mlmodel(self, found: Source) -> dict[str, Any] | None:
        try:
            if found.folder is not None:
                local = found.folder / "MLmodel"
                if local.is_symlink() or not local.is_file():
                    return None
                raw = local.read_bytes()
            else:
                raw = self._artifacts.get_bytes(safe_key(found.key, "MLmodel"))
        except (NotFound, InvalidArgument):
            return None
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError:
            return None
        return data if isinstance(data, dict) else None

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Raises NotFound."""
        with self._ctx.db.connect() as conn:
            self._ctx.require(
                Permission.READ, self._owner_of(conn, name), action="registry.get_model_version"
            )
            return self._version(conn, name, int(version))

    def list_model_versions(
        self,
        name: str | None = None,
        *,
        run_id: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions of one model (newest first), or of every readable model."""
        size = resolve_limit(self._ctx.settings, limit)
        q = sa.select(model_versions, registered_models.c.owner).join(
            registered_models, registered_models.c.name == model_versions.c.name
        )
        if name is not None:
            q = q.where(model_versions.c.name == name)
        else:
            teams = readable_teams(self.principal)
            q = q.where(team_filter(registered_models.c.owner, teams))
        if run_id is not None:
            q = q.where(model_versions.c.run_id == run_id)
        keyset = Keyset(
            "registry.versions",
            Key(model_versions.c.name),
            Key(model_versions.c.version, descending=True),
        )
        with self._ctx.db.connect() as conn:
            if name is not None:
                self._ctx.require(
                    Permission.READ, self._owner_of(conn, name), action="registry.list_versions"
                )
            rows, token = keyset_page(
                conn,
                q,
                keyset,
                limit=size,
                page_token=page_token,
                filters={"name": name, "run_id": run_id},
            )
            return Page(items=store.to_versions(conn, rows), next_page_token=token)

    def update_model_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        delete_tags: list[str] | None = None,
    ) -> ModelVersion:
        """Change a version's description or tags."""
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name)
        with self._ctx.mutation(
            "registry.update_version", team=team, asset=f"model:{name}@{version}"
        ) as m:
            row = store.version_row(m.conn, name, int(version))
            values: dict[str, Any] = {"updated_at": utcnow()}
            if description is not None:
                values["description"] = description
            if tags or delete_tags:
                merged = {**(row.tags or {}), **{k: str(v) for k, v in (tags or {}).items()}}
                for key in delete_tags or []:
                    merged.pop(key, None)
                values["tags"] = merged
            store.update_version(m.conn, name, int(version), values)
            return self._version(m.conn, name, int(version))

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version and the aliases pointing at it."""
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name)
        with self._ctx.mutation(
            "registry.delete_version", team=team, asset=f"model:{name}@{version}"
        ) as m:
            store.version_row(m.conn, name, int(version))
            for alias in store.aliases_of(m.conn, name, int(version)):
                self._apply(m.conn, name, alias, None, None, approved_by=None)
            store.delete_version(m.conn, name, int(version))

    # -- loading ---------------------------------------------------------------------------

    def resolve(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI points at (by number, alias or ``latest``)."""
        name, version, alias = parse_model_uri(uri)
        if alias == "latest":
            with self._ctx.db.connect() as conn:
                self._ctx.require(
                    Permission.READ, self._owner_of(conn, name), action="registry.get_model_version"
                )
                latest = store.latest_version(conn, name)
                if latest is None:
                    raise NotFound(f"model '{name}' has no versions", name=name)
                return self._version(conn, name, latest)
        if alias is not None:
            return self.get_model_version_by_alias(name, alias)
        assert version is not None
        return self.get_model_version(name, version)

    @property
    def _max_entries(self) -> int:
        return self._ctx.settings.artifacts.list_max_entries

    def _location(self, mv: ModelVersion) -> str:
        """The version's folder key; a version left without one has no files."""
        try:
            key = safe_key(mv.storage_location)
        except InvalidArgument:
            key = ""
        if not key:
            raise NotFound(f"model '{mv.name}' version {mv.version} has no files", name=mv.name)
        return key

    def list_model_files(
        self,
        name: str,
        version: int,
        *,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[str]:
        """Every file of a version (paths relative to the model folder), by path.

        Symlinks are not followed. Raises QuotaExceeded beyond ``artifacts.list_max_entries``
        entries or ``artifacts.list_max_depth`` nested folders.
        """
        size = resolve_limit(self._ctx.settings, limit)
        key = self._location(self.get_model_version(name, version))
        files = walk_files(
            self._artifacts,
            key,
            max_entries=self._max_entries,
            max_depth=self._ctx.settings.artifacts.list_max_depth,
        )
        return page_in_memory(
            [f.path for f in files],
            str,
            scope="registry.files",
            limit=size,
            page_token=page_token,
            filters={"name": name, "version": version},
        )

    def read_model_file(self, name: str, version: int, path: str) -> bytes:
        """One file of a version. Raises NotFound, InvalidArgument (``..``, absolute, symlink)."""
        key = self._location(self.get_model_version(name, version))
        rel = safe_key(path)
        if not rel:
            raise InvalidArgument("a file path inside the model version is required", path=path)
        return self._artifacts.get_bytes(safe_key(key, rel))

    def download_model(self, uri: str) -> Path:
        """A local folder with the files of the version ``uri`` points at."""
        mv = self.resolve(uri)
        return self._local_dir(mv)

    def _local_dir(self, mv: ModelVersion) -> Path:
        cache = self._ctx.settings.home_dir / "cache" / "models"
        cache.mkdir(parents=True, exist_ok=True)
        return self._artifacts.local_path(self._location(mv), cache)

    def load_model(self, uri: str) -> LoadedModel:
        """Load ``models:/name@alias`` or ``models:/name/3``; ``predict`` checks the signature.

        Raises:
            NotFound: no such model, version or alias.
            InvalidArgument: a bad URI, or model files that cannot be loaded.
        """
        mv = self.resolve(uri)
        cache = self._state.loaded
        key = (mv.name, mv.version, mv.storage_location)
        found = cache.get(key)
        if found is None:
            found = load_model_dir(self._local_dir(mv), uri=mv.uri)
            if len(cache) > 64:
                cache.clear()
            cache[key] = found
        return found
