"""The artifact and model half of ``TrackingService``: files under a run, ``log_model``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shipyard._internal.paging import Page, page_in_memory, resolve_limit
from shipyard.errors import InvalidArgument, NotFound
from shipyard.security.models import Permission
from shipyard.storage import (
    ArtifactStore,
    list_dir,
    safe_key,
)
from shipyard.tracking import store
from shipyard.tracking.models import FileInfo, LoggedModel
from shipyard.tracking.packaging.mlmodel import save_model, signature_of
from shipyard.tracking.tables import logged_models
from shipyard.tracking.validation import now_ms

if TYPE_CHECKING:
    from shipyard._internal.shared import Shared
    from shipyard.catalog.context import ServiceContext


class ModelRegistrar(Protocol):
    """Registers a logged model as a model version (``RegistryService``; tracking does not import it)."""

    def register_model(self, name: str, source: str) -> Any: ...


class ArtifactsMixin:
    _ctx: ServiceContext
    _artifact_store: Shared[ArtifactStore]
    _registry: Callable[[], ModelRegistrar]

    if TYPE_CHECKING:

        def _owner(self, run_id: str) -> str: ...
        def local_cache_dir(self) -> Path: ...

    @property
    def artifacts(self) -> ArtifactStore:
        """The artifact store (one per platform)."""
        return self._artifact_store.get()

    def _run_key(self, run_id: str, path: str | None = None) -> str:
        with self._ctx.db.connect() as conn:
            row = store.run_row(conn, run_id)
        return safe_key(row.artifact_uri, path)

    def _write_check(self, run_id: str, action: str) -> Any:
        return self._ctx.mutation(action, team=self._owner(run_id), asset=f"run:{run_id}")

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> str:
        """Copy a local file (or folder) under the run's artifacts; returns its path there.

        Raises:
            NotFound: no such run or local file. InvalidArgument: ``..`` or an absolute path.
        """
        src = Path(local_path)
        if not src.exists():
            raise NotFound(f"no local file {src}", path=str(src))
        rel = safe_key(artifact_path, src.name)
        key = self._run_key(run_id, rel)
        with self._write_check(run_id, "tracking.log_artifact") as m:
            store.require_active(store.run_row(m.conn, run_id))
            if src.is_dir():
                self.artifacts.put_dir(src, key)
            else:
                self.artifacts.put_file(src, key)
            m.details = {"path": rel}
        return rel

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> str:
        """Copy the contents of a local folder under ``artifact_path``."""
        src = Path(local_dir)
        if not src.is_dir():
            raise NotFound(f"no local folder {src}", path=str(src))
        rel = safe_key(artifact_path)
        key = self._run_key(run_id, rel)
        with self._write_check(run_id, "tracking.log_artifact") as m:
            store.require_active(store.run_row(m.conn, run_id))
            self.artifacts.put_dir(src, key)
            m.details = {"path": rel or "."}
        return rel

    def put_artifact(self, run_id: str, path: str, data: bytes) -> str:
        """Store ``data`` at ``path`` under the run's artifacts (what uploads use)."""
        rel = safe_key(path)
        if not rel:
            raise InvalidArgument("an artifact path is required", path=path)
        key = self._run_key(run_id, rel)
        with self._write_check(run_id, "tracking.log_artifact") as m:
            row = store.run_row(m.conn, run_id)
            if row.lifecycle_stage != "active":
                store.require_active(row)
            self.artifacts.put_bytes(data, key)
            m.details = {"path": rel, "bytes": len(data)}
        return rel

    def list_artifacts(
        self,
        run_id: str,
        path: str | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[FileInfo]:
        """Files and folders directly under ``path`` of the run's artifacts, by path.

        Symlinks are not listed. Raises QuotaExceeded beyond ``artifacts.list_max_entries``.
        """
        self._ctx.require(Permission.READ, self._owner(run_id), action="tracking.list_artifacts")
        size = resolve_limit(self._ctx.settings, limit)
        base = self._run_key(run_id)
        rel = safe_key(path)
        most = self._ctx.settings.artifacts.list_max_entries
        items = list_dir(self.artifacts, safe_key(base, rel), max_entries=most)
        prefix = base + "/"
        return page_in_memory(
            [f.model_copy(update={"path": f.path[len(prefix) :]}) for f in items],
            lambda f: f.path,
            scope="tracking.artifacts",
            limit=size,
            page_token=page_token,
            filters={"run_id": run_id, "path": rel},
        )

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of one artifact file. Raises NotFound."""
        self._ctx.require(Permission.READ, self._owner(run_id), action="tracking.read_artifact")
        return self.artifacts.get_bytes(self._run_key(run_id, safe_key(path)))

    def download_artifacts(
        self, run_id: str, path: str | None = None, dst: str | Path | None = None
    ) -> Path:
        """A local copy of an artifact file or folder (in place for a local store)."""
        self._ctx.require(Permission.READ, self._owner(run_id), action="tracking.read_artifact")
        key = self._run_key(run_id, safe_key(path))
        local = self.artifacts.local_path(key, self.local_cache_dir())
        if dst is None:
            return local
        target = Path(dst) / (local.name if path else "artifacts")
        if local.is_dir():
            shutil.copytree(local, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
        return target

    # -- models ----------------------------------------------------------------------------

    def log_model(
        self,
        run_id: str,
        model: Any,
        artifact_path: str = "model",
        *,
        input_example: Any = None,
        signature: dict[str, Any] | None = None,
        predict_method: str = "predict",
        flavor: str | None = None,
        pip_requirements: list[str] | None = None,
        registered_model_name: str | None = None,
    ) -> LoggedModel:
        """Save ``model`` under the run's artifacts with its MLmodel, signature and requirements.

        The signature is inferred from ``input_example`` when not given; the
        requirements are pinned from the running environment (no subprocess).
        With ``registered_model_name`` the model is registered as a new version.

        Raises:
            InvalidArgument: an unsupported model, flavor or predict method.
            Conflict: the run has ended.
        """
        rel = safe_key(artifact_path)
        if not rel:
            raise InvalidArgument("artifact_path is required", artifact_path=artifact_path)
        with tempfile.TemporaryDirectory(prefix="shipyard-model-") as tmp:
            folder = Path(tmp) / "model"
            mlmodel = save_model(
                model,
                folder,
                artifact_path=rel,
                run_id=run_id,
                input_example=input_example,
                signature=signature,
                predict_method=predict_method,
                flavor=flavor,
                pip_requirements=pip_requirements,
            )
            logged = self._record_model(run_id, rel, folder, mlmodel)
        if registered_model_name:
            self._registry().register_model(registered_model_name, source=f"runs:/{run_id}/{rel}")
        return logged

    def record_model(self, run_id: str, artifact_path: str = "model") -> LoggedModel:
        """Record a model whose files (with ``MLmodel``) were already uploaded to the run.

        Raises:
            InvalidArgument: there is no readable MLmodel under ``artifact_path``.
        """
        import yaml

        rel = safe_key(artifact_path)
        # authorize against the run's stored owner before reading its files: a refusal
        # must not depend on (or reveal) what the run holds
        self._ctx.require(
            Permission.WRITE,
            self._owner(run_id),
            action="tracking.log_model",
            asset=f"run:{run_id}",
        )
        try:
            raw = self.artifacts.get_bytes(self._run_key(run_id, safe_key(rel, "MLmodel")))
            mlmodel = yaml.safe_load(raw)
        except (NotFound, yaml.YAMLError):
            raise InvalidArgument(
                f"no readable MLmodel under '{rel}' of run {run_id}", path=rel
            ) from None
        if not isinstance(mlmodel, dict) or "model_uuid" not in mlmodel:
            raise InvalidArgument(f"the MLmodel under '{rel}' is not a Shipyard model", path=rel)
        return self._record_model(run_id, rel, None, mlmodel)

    def _record_model(
        self, run_id: str, rel: str, folder: Path | None, mlmodel: dict[str, Any]
    ) -> LoggedModel:
        key = self._run_key(run_id, rel)
        model_id = f"m-{mlmodel['model_uuid']}"
        now = now_ms()
        flavor = (mlmodel.get("shipyard") or {}).get("flavor")
        with self._write_check(run_id, "tracking.log_model") as m:
            row = store.run_row(m.conn, run_id)
            store.require_active(row)
            if folder is not None:
                self.artifacts.put_dir(folder, key)
            m.conn.execute(
                logged_models.insert().values(
                    id=model_id,
                    experiment_id=row.experiment_id,
                    run_id=run_id,
                    name=rel,
                    artifact_location=key,
                    status="READY",
                    model_type=flavor,
                    source_run_id=run_id,
                    tags={},
                    params={},
                    creation_time=now,
                    last_updated_time=now,
                )
            )
            store.upsert_tags(m.conn, run_id, {"shipyard.logged_model." + rel: model_id})
            m.details = {"path": rel, "flavor": flavor}
            return LoggedModel(
                id=model_id,
                experiment_id=row.experiment_id,
                run_id=run_id,
                name=rel,
                artifact_location=self.artifacts.uri(key),
                status="READY",
                model_type=flavor,
                creation_time=now,
                last_updated_time=now,
                flavor=flavor,
                signature=signature_of(mlmodel),
                model_uri=f"runs:/{run_id}/{rel}",
            )
