"""Where a new model version's files come from, and who may point there.

A source is one of

- ``runs:/<run_id>/<path>``: files under a run's artifacts;
- ``models:/<logged model id>``: a logged model (MLflow 3 ``models:/m-...``);
- ``models:/<name>/<version>`` or ``models:/<name>@<alias>``: an existing version;
- ``mlflow-artifacts:/<experiment>/<run>/artifacts/...`` (or
  ``.../models/<id>/artifacts/...``): what MLflow clients send;
- a local folder (``/path`` or ``file://...``): admins only, and only under one
  of the configured ``registry.import_roots``.

Each needs read permission on the team that owns the run, experiment or model
it points into, checked against the stored owner; every key stays inside that
run's or model's artifact folder, so a version's storage location is never
empty and never elsewhere.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied, QuotaExceeded
from shipyard.security.models import ALL_TEAMS, Permission
from shipyard.tracking import store as tstore
from shipyard.tracking.artifacts import safe_key
from shipyard.tracking.tables import experiments, logged_models

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection

    from shipyard.catalog.context import ServiceContext
    from shipyard.registry.models import ModelVersion
    from shipyard.tracking.artifacts import ArtifactStore

ACTION = "registry.register_model"
_MAX_SOURCE = 2048
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_MLFLOW = "mlflow-artifacts:"
_FORMS = (
    "runs:/<run_id>/<path>, models:/<logged model id>, models:/<name>/<version>, "
    "models:/<name>@<alias> or mlflow-artifacts:/<experiment>/<run>/artifacts/<path>"
)


@dataclass(frozen=True)
class Source:
    """A resolved source: an artifact key to read, or a local folder to copy."""

    key: str | None
    run_id: str | None
    folder: Path | None = None


def _invalid(source: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"model source '{source}': {why}", source=source)


def _inside(source: str, base: str, path: str = "") -> str:
    """``base/path`` as a key that stays under ``base`` (a run's or model's folder)."""
    try:
        root = safe_key(base)
        key = safe_key(root, path)
    except InvalidArgument:
        raise _invalid(source, "the path may not be absolute or contain '..'") from None
    if not root or not (key == root or key.startswith(root + "/")):
        raise _invalid(source, "it points outside the artifacts it names")
    return key


class SourceResolver:
    """Resolves a registration source for the caller of ``ctx`` (see the module doc)."""

    def __init__(self, ctx: ServiceContext, resolve_model: Callable[[str], ModelVersion]) -> None:
        self._ctx = ctx
        self._resolve_model = resolve_model  # RegistryService.resolve: checks READ on the model

    def resolve(self, source: str, run_id: str | None) -> Source:
        """Raises InvalidArgument, NotFound, PermissionDenied (naming only what was typed)."""
        try:
            return self._resolve(source, run_id)
        except PermissionDenied as exc:
            if "team" not in exc.details:
                raise
            # audited with the team by ``require``; the caller learns nothing beyond the URI
            raise PermissionDenied(
                f"{self._ctx.principal.name} may not read the model source '{source}'"
                + (f" or run '{run_id}'" if run_id else ""),
                source=source,
            ) from None

    def _resolve(self, source: str, run_id: str | None) -> Source:
        if not isinstance(source, str) or not source.strip():
            raise InvalidArgument(f"a model source is required ({_FORMS})", source=str(source))
        if len(source) > _MAX_SOURCE or "\x00" in source:
            raise InvalidArgument(f"a model source is at most {_MAX_SOURCE} characters")
        with self._ctx.db.connect() as conn:
            if run_id is not None:
                self._read_run(conn, str(run_id))
            if source.startswith("runs:/"):
                rid, _, path = source[len("runs:/") :].partition("/")
                row = self._read_run(conn, rid)
                return Source(_inside(source, row.artifact_uri, path), rid)
            if source.startswith("models:/"):
                return self._model(conn, source, run_id)
            if source.startswith(_MLFLOW):
                return self._mlflow(conn, source, run_id)
        if source.startswith("file:") or not _SCHEME.match(source):
            return self._local(source, run_id)
        raise _invalid(source, f"unsupported scheme; use {_FORMS}")

    def _read_run(self, conn: Connection, run_id: str) -> Any:
        row = tstore.run_row(conn, run_id)
        self._ctx.require(Permission.READ, row.owner, action=ACTION, asset=f"run:{run_id}")
        return row

    def _read_experiment(self, conn: Connection, source: str, exp_id: str) -> None:
        owner = conn.execute(
            sa.select(experiments.c.owner).where(experiments.c.id == exp_id)
        ).scalar()
        if owner is None:
            raise NotFound(f"model source '{source}': no such experiment", source=source)
        self._ctx.require(Permission.READ, owner, action=ACTION, asset=f"experiment:{exp_id}")

    def _logged(self, conn: Connection, source: str, model_id: str) -> Any:
        lm = conn.execute(sa.select(logged_models).where(logged_models.c.id == model_id)).first()
        if lm is None:
            raise NotFound(f"model source '{source}': no such logged model", source=source)
        self._read_experiment(conn, source, lm.experiment_id)
        return lm

    def _model(self, conn: Connection, source: str, run_id: str | None) -> Source:
        body = source[len("models:/") :]
        if body and "/" not in body and "@" not in body:
            lm = self._logged(conn, source, body)
            key = _inside(source, lm.artifact_location)
            if not key.startswith(f"{lm.experiment_id}/"):
                raise _invalid(source, "it points outside the artifacts it names")
            return Source(key, run_id or lm.source_run_id or lm.run_id)
        mv = self._resolve_model(source)  # read check on the model's team
        key = _inside(source, mv.storage_location)
        return Source(key, run_id or mv.run_id)

    def _mlflow(self, conn: Connection, source: str, run_id: str | None) -> Source:
        path = source[len(_MLFLOW) :]
        if path.startswith("//"):  # mlflow-artifacts://host:port/<path>
            path = path[2:].partition("/")[2]
        try:
            key = safe_key(path.lstrip("/"))
        except InvalidArgument:
            raise _invalid(source, "the path may not contain '..'") from None
        parts = key.split("/")
        if len(parts) < 3:
            raise _invalid(source, "point into a run's or logged model's artifacts")
        self._read_experiment(conn, source, parts[0])
        if parts[1] == "models" and len(parts) >= 4 and parts[3] == "artifacts":
            lm = self._logged(conn, source, parts[2])
            if lm.experiment_id != parts[0]:
                raise NotFound(f"model source '{source}': no such logged model", source=source)
            return Source(key, run_id or lm.source_run_id or lm.run_id)
        if parts[2] != "artifacts":
            raise _invalid(source, "point into a run's or logged model's artifacts")
        row = self._read_run(conn, parts[1])
        if row.experiment_id != parts[0]:
            raise NotFound(f"model source '{source}': no such run", source=source)
        return Source(_inside(source, row.artifact_uri, "/".join(parts[3:])), run_id or row.id)

    def _local(self, source: str, run_id: str | None) -> Source:
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="registry.import_local")
        raw = source[len("file://") :] if source.startswith("file://") else source
        folder = Path(raw).resolve()
        if not any(folder.is_relative_to(root) for root in self._ctx.settings.import_roots):
            raise PermissionDenied(
                f"model source '{source}': local folders are registered only from the "
                "configured import roots (registry.import_roots)",
                source=source,
            )
        if not folder.is_dir():
            raise InvalidArgument(f"model source '{source}' is not a folder", source=source)
        return Source(None, run_id, folder)


def copy_folder(store: ArtifactStore, folder: Path, key: str, *, max_entries: int) -> None:
    """Copy the regular files under ``folder`` to ``key``; symlinks are never followed."""
    count = 0
    for here, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]
        for name in files:
            path = Path(here) / name
            if path.is_symlink() or not path.is_file():
                continue
            count += 1
            if count > max_entries:
                raise QuotaExceeded(
                    f"the folder has more than {max_entries} files (artifacts.list_max_entries)",
                    limit=max_entries,
                )
            store.put_file(path, safe_key(key, path.relative_to(folder).as_posix()))
