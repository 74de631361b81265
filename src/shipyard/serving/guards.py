"""Who may point a deployment at which model versions (issue #10, finding 5).

- Serving a model version needs ``deploy`` on the team that owns the model (not only
  ``write`` on the deployment's team): a team decides where its models run.
- A deployment whose live traffic goes through a protected alias (``churn@champion``,
  one with an approval policy) changes version only through that alias's approval:
  a change that adds a live variant of that model by a direct version (``churn/2``)
  or by an unprotected alias is refused unless the caller is an admin of the model's
  team. Variants already in the current spec, and shadow variants (never answered),
  stay allowed. Refusals are audited as denied (``PermissionDenied``).
"""

from __future__ import annotations

from collections.abc import Callable

from shipyard.catalog.context import ServiceContext
from shipyard.catalog.models import Asset
from shipyard.errors import PermissionDenied
from shipyard.security.models import Permission
from shipyard.serving.models import DeploymentSpec

#: ``(model, alias) -> protected?``
IsProtected = Callable[[str, str], bool]


def require_deploy(ctx: ServiceContext, models: dict[str, Asset], action: str) -> None:
    """The caller may serve versions of each model (``deploy`` on its owner team)."""
    for asset in models.values():
        ctx.require(Permission.DEPLOY, asset.owner, action=action, asset=f"model:{asset.name}")


def require_alias_route(
    ctx: ServiceContext,
    name: str,
    current: DeploymentSpec,
    new: DeploymentSpec,
    models: dict[str, Asset],
    protected: IsProtected,
    action: str,
) -> None:
    """Refuse live variants that bypass a protected alias the deployment serves now."""
    guarded: dict[str, str] = {}  # model -> the protected alias serving it now
    for v in current.variants:
        model, alias, _ = v.parsed_model()
        if not v.shadow and alias is not None and protected(model, alias):
            guarded.setdefault(model, f"{model}@{alias}")
    if not guarded:
        return
    before = {v.model for v in current.variants}
    for v in new.variants:
        model, alias, _ = v.parsed_model()
        if v.shadow or model not in guarded or v.model in before:
            continue
        if alias is not None and protected(model, alias):
            continue
        team = models[model].owner if model in models else ctx.default_team
        try:
            ctx.require(Permission.ADMIN, team, action=action, asset=f"deployment:{name}")
        except PermissionDenied:
            raise PermissionDenied(
                f"deployment '{name}' serves the protected alias {guarded[model]}: it changes "
                f"version only through that alias's approval (request promotion of "
                f"{guarded[model]} instead of serving {v.model})",
                deployment=name,
                alias=guarded[model],
                variant=v.name,
            ) from None
