"""The interface of environments: what ``Platform`` and ``shipyard.connect`` both offer."""

from __future__ import annotations

from typing import Protocol

from shipyard._internal.paging import Page
from shipyard.environments.models import DefinitionsPlan, Environment, EnvPromotion


class EnvironmentAPI(Protocol):
    """Environments of the project and promotion into the next one (ADR 0028)."""

    def list_environments(self) -> list[Environment]:
        """Every configured environment, in promotion order."""
        ...

    def get_environment(self, name: str) -> Environment: ...
    def promote_model(
        self, name: str, version: int, *, target: str, comment: str | None = None
    ) -> EnvPromotion:
        """Copy model version ``name``/``version`` of this environment into ``target``.

        Into a protected environment the request waits for an approver there;
        otherwise it is applied at once (status ``applied``, ``result`` names the new
        version, tagged with the source version).

        Raises:
            PermissionDenied: the caller lacks WRITE on the model's team here or in ``target``.
            InvalidArgument: no environment selected, or ``target`` is unknown or this one.
        """
        ...

    def plan_definitions(self, target: str) -> DefinitionsPlan:
        """What promoting this environment's definitions into ``target`` would change (admins)."""
        ...

    def promote_definitions(
        self, target: str, *, digest: str, comment: str | None = None
    ) -> EnvPromotion:
        """Apply the reviewed plan ``digest`` in ``target`` (a request, if it is protected).

        Raises:
            Conflict: the plan changed since it was reviewed (make a new one).
        """
        ...

    def get_promotion(self, request_id: str) -> EnvPromotion: ...
    def list_promotions(
        self, *, status: str | None = None, limit: int | None = None, page_token: str | None = None
    ) -> Page[EnvPromotion]:
        """Promotions into this environment, oldest first."""
        ...

    def approve_promotion(self, request_id: str, *, comment: str | None = None) -> EnvPromotion:
        """Approve and carry out a pending promotion into this environment.

        Raises:
            PermissionDenied: no approve permission, or the caller requested it.
            Conflict: not pending, or its plan changed since the request.
        """
        ...

    def reject_promotion(self, request_id: str, *, comment: str | None = None) -> EnvPromotion: ...
