"""The interface of registry: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from shipyard._internal.paging import Page
from shipyard.registry.models import (
    AliasEvent,
    AliasPolicy,
    ModelVersion,
    PromotionRequest,
    RegisteredModel,
)

if TYPE_CHECKING:  # loading a model needs pandas/numpy; the interface does not
    from shipyard.tracking.packaging.loaded import LoadedModel


class RegistryAPI(Protocol):
    """What ``RegistryService`` offers both in-process and over HTTP."""

    def get_alias_policy(self, name: str, alias: str) -> AliasPolicy:
        """The policy for ``alias`` of model ``name`` (its own, else ``*``, else the default)."""
        ...

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
        """Protect an alias and set what a version needs to hold it (admin only)."""
        ...

    def set_alias(
        self, name: str, alias: str, version: int, *, comment: str | None = None
    ) -> PromotionRequest:
        """Point ``alias`` at ``version``."""
        ...

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias. A protected alias needs the approve permission."""
        ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """Raises NotFound when the alias is not set."""
        ...

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """Every change of the model's aliases, oldest first, with who asked and who approved."""
        ...

    def get_promotion(self, request_id: str) -> PromotionRequest: ...
    def list_promotions(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[PromotionRequest]:
        """Promotion requests, newest first (``status="pending"`` for the approval queue)."""
        ...

    def approve_promotion(self, request_id: str, *, comment: str | None = None) -> PromotionRequest:
        """Approve a pending request and move the alias."""
        ...

    def reject_promotion(self, request_id: str, *, comment: str | None = None) -> PromotionRequest:
        """Reject a pending request (the alias does not move)."""
        ...

    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        owner: str | None = None,
    ) -> RegisteredModel:
        """Raises AlreadyExists, InvalidArgument (bad name)."""
        ...

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Raises NotFound."""
        ...

    def list_registered_models(
        self,
        *,
        name_like: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """Models the caller may read, by name (``name_like`` is a SQL LIKE pattern)."""
        ...

    def update_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        delete_tags: list[str] | None = None,
    ) -> RegisteredModel:
        """Change the description, set or delete tags."""
        ...

    def delete_registered_model(self, name: str) -> None:
        """Delete the model, its versions and aliases (the catalog keeps its history)."""
        ...

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
        """Register a new version of ``name`` (created if missing) from ``source``."""
        ...

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Raises NotFound."""
        ...

    def list_model_versions(
        self,
        name: str | None = None,
        *,
        run_id: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions of one model (newest first), or of every readable model."""
        ...

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
        ...

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version and the aliases pointing at it."""
        ...

    def resolve(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI points at (by number, alias or ``latest``)."""
        ...

    def list_model_files(
        self,
        name: str,
        version: int,
        *,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[str]:
        """Every file of a version (paths relative to the model folder)."""
        ...

    def read_model_file(self, name: str, version: int, path: str) -> bytes:
        """One file of a version. Raises NotFound, InvalidArgument (``..``, absolute, symlink)."""
        ...

    def download_model(self, uri: str) -> Path:
        """A local folder with the files of the version ``uri`` points at."""
        ...

    def load_model(self, uri: str) -> LoadedModel:
        """Load ``models:/name@alias`` or ``models:/name/3``; ``predict`` checks the signature."""
        ...
