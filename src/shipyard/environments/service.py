"""``EnvironmentService``: the project's environments and promotion into the next one.

Each environment has its own catalog (hence its own principals, roles and audit
log), lake, artifacts and online store (``Settings.for_environment``). A promotion
acts as the same principal name in both: READ+WRITE here, WRITE in the target, and
a promotion into a protected environment waits there for another principal with the
approve permission (ADR 0028).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.enums import parse_enum
from shipyard._internal.ids import new_id
from shipyard._internal.paging import Page, page_in_memory, resolve_limit
from shipyard.catalog.context import Service, ServiceContext
from shipyard.environments.models import DefinitionsPlan, Environment, EnvPromotion
from shipyard.environments.promotion import (
    PROMOTED_KINDS,
    Desired,
    apply_promotion,
    plan_promotion,
)
from shipyard.environments.tables import env_promotions
from shipyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from shipyard.registry.models import PromotionStatus
from shipyard.security.models import ALL_TEAMS, Permission

if TYPE_CHECKING:
    from shipyard.config import Settings

#: A ``shipyard.platform.Platform`` (not imported: the platform imports this package).
Platform = Any
#: ``(environment, principal name) -> that environment's Platform acting for them``.
Opener = Callable[[str, str], Platform]


def describe(settings: Settings, current: str | None) -> Environment:
    names = settings.environments.names
    i = names.index(settings.environment) if settings.environment in names else -1
    return Environment(
        name=settings.environment or "",
        current=settings.environment == current,
        protected=settings.protected,
        next=names[i + 1] if 0 <= i < len(names) - 1 else None,
        catalog=_masked(settings.catalog_url),
        lake_root=settings.lake_root,
        artifact_root=settings.artifact_root,
        online=settings.online_key_prefix
        if settings.online.backend == "redis"
        else str(settings.home_dir / "online.db"),
    )


def _masked(url: str) -> str:
    from shipyard.errors import mask_url

    return mask_url(url)


class EnvironmentService(Service):
    """Environments of one project, acting for one principal in the current environment."""

    def __init__(self, ctx: ServiceContext, *, here: Callable[[], Platform], open_env: Opener):
        super().__init__(ctx)
        self._here = here
        self._open = open_env

    # -- what exists -------------------------------------------------------------------

    def list_environments(self) -> list[Environment]:
        s = self._ctx.settings
        return [describe(s.for_environment(n), s.environment) for n in s.environments.names]

    def get_environment(self, name: str) -> Environment:
        s = self._ctx.settings
        return describe(s.for_environment(name), s.environment)

    def _target(self, target: str) -> Settings:
        s = self._ctx.settings
        if s.environment is None:
            raise InvalidArgument(
                "no environment selected: set 'environment' (SHIPYARD_ENVIRONMENT or --env)"
            )
        settings = s.for_environment(target)
        if target == s.environment:
            raise InvalidArgument(f"'{target}' is the current environment")
        return settings

    def _there(self, target: str, principal: str) -> Platform:
        try:
            return self._open(target, principal)
        except NotFound:
            raise PermissionDenied(
                f"{principal} is not a principal of environment '{target}'", environment=target
            ) from None

    # -- models ------------------------------------------------------------------------

    def promote_model(
        self, name: str, version: int, *, target: str, comment: str | None = None
    ) -> EnvPromotion:
        here = self._here()
        mv = here.registry.get_model_version(name, int(version))  # READ, else 404
        team = here.registry.get_registered_model(name).owner
        subject = f"model:{name}@{mv.version}"
        self._ctx.require(
            Permission.WRITE, team, action="environments.promote_model", asset=subject
        )
        target_settings = self._target(target)
        there = self._there(target, self.principal.name)
        payload = {"name": name, "version": mv.version}
        return self._request(
            there,
            target_settings,
            "model",
            team,
            subject,
            payload,
            comment,
            apply=lambda: self._copy_model(there, name, mv.version),
        )

    def _copy_model(self, there: Platform, name: str, version: int) -> dict[str, Any]:
        source = self._ctx.settings.environment
        here = self._here()
        mv = here.registry.get_model_version(name, version)
        folder = here.registry.download_model(mv.uri)
        owner = here.registry.get_registered_model(name).owner
        tags = {
            **mv.tags,
            "shipyard.promoted_from": f"{source}:{mv.uri}",
            "shipyard.promoted_run": mv.run_id or "",
        }
        new = there.registry.register_promoted(
            name,
            folder,
            source=f"{source}:{mv.uri}",
            description=mv.description,
            tags=tags,
            owner=owner,
        )
        return {"name": name, "version": new.version, "from": f"{source}:{mv.uri}"}

    # -- definitions -------------------------------------------------------------------

    def plan_definitions(self, target: str) -> DefinitionsPlan:
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="environments.plan_definitions")
        self._target(target)
        there = self._there(target, self.principal.name)
        return plan_promotion(there, self._definitions(), source=self._source, target=target)[0]

    @property
    def _source(self) -> str:
        return self._ctx.settings.environment or ""

    def _definitions(self) -> Desired:
        """This environment's definitions, as platform as code would declare them."""
        code = self._here().platform_code
        return code.export(list(PROMOTED_KINDS), origin=self._source)

    def promote_definitions(
        self, target: str, *, digest: str, comment: str | None = None
    ) -> EnvPromotion:
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="environments.promote_definitions")
        target_settings = self._target(target)
        there = self._there(target, self.principal.name)
        plan, code_plan = plan_promotion(
            there, self._definitions(), source=self._source, target=target
        )
        if not plan.changes:
            raise Conflict(
                f"nothing to promote: '{target}' already has every definition of "
                f"'{self._source}'"
                + (f" it can take ({len(plan.refused)} refused)" if plan.refused else "")
            )
        if plan.digest != digest:
            raise Conflict(
                f"the plan {digest[:12]} is stale: the definitions here or in '{target}' "
                "changed since it was made; review a new plan",
                digest=digest[:64],
            )
        payload = {
            "digest": digest,
            "desired": code_plan.desired.model_dump(mode="json"),
            "refused": plan.refused,
        }
        return self._request(
            there,
            target_settings,
            "definitions",
            ALL_TEAMS,
            f"definitions:{digest[:12]}",
            payload,
            comment,
            apply=lambda: apply_promotion(there, code_plan, plan.refused),
        )

    # -- requests ------------------------------------------------------------------------

    def _request(
        self,
        there: Platform,
        target: Settings,
        kind: str,
        team: str,
        subject: str,
        payload: dict[str, Any],
        comment: str | None,
        *,
        apply: Callable[[], dict[str, Any]],
    ) -> EnvPromotion:
        """Record the promotion in the target's catalog; carry it out unless protected."""
        source = self._ctx.settings.environment or ""
        pending = target.protected
        result = None if pending else apply()
        status = PromotionStatus.PENDING if pending else PromotionStatus.APPLIED
        row = {
            "id": new_id(),
            "kind": kind,
            "source": source,
            "team": team,
            "subject": subject,
            "payload": payload,
            "status": status.value,
            "requested_by": self.principal.name,
            "requested_at": utcnow(),
            "comment": comment,
            "result": result,
        }
        tctx = there.context
        with tctx.mutation(f"environments.promote_{kind}", team=team, asset=subject) as m:
            m.conn.execute(env_promotions.insert().values(**row))
            m.details = {"source": source, "request": row["id"], "status": status.value}
        with self._ctx.db.begin() as conn:  # the source's audit log says where it went
            self._ctx.audit.write(
                conn,
                principal=self.principal.name,
                action=f"environments.promote_{kind}",
                outcome="ok",
                asset=subject,
                team=team,
                details={"target": target.environment, "request": row["id"]},
            )
        return _to_model(row, target.environment or "")

    def get_promotion(self, request_id: str) -> EnvPromotion:
        row = self._row(request_id)
        self._ctx.require(Permission.READ, row["team"], action="environments.get_promotion")
        return _to_model(row, self._ctx.settings.environment or "")

    def _row(self, request_id: str) -> dict[str, Any]:
        with self._ctx.db.connect() as conn:
            row = conn.execute(
                sa.select(env_promotions).where(env_promotions.c.id == str(request_id)[:64])
            ).first()
        if row is None:
            raise NotFound(f"no promotion request '{str(request_id)[:64]}'")
        return dict(row._mapping)

    def list_promotions(
        self, *, status: str | None = None, limit: int | None = None, page_token: str | None = None
    ) -> Page[EnvPromotion]:
        size = resolve_limit(self._ctx.settings, limit)
        q = sa.select(env_promotions).order_by(
            env_promotions.c.requested_at.desc(), env_promotions.c.id.desc()
        )
        if status:
            q = q.where(env_promotions.c.status == parse_enum(PromotionStatus, status, "status"))
        with self._ctx.db.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        me = self.principal
        env = self._ctx.settings.environment or ""
        items = [_to_model(r, env) for r in rows if me.can(Permission.READ, r["team"])]
        return page_in_memory(
            items,
            lambda p: f"{p.requested_at.isoformat()}|{p.id}",
            scope="environments.promotions",
            limit=size,
            page_token=page_token,
            filters={"status": status},
        )

    def approve_promotion(self, request_id: str, *, comment: str | None = None) -> EnvPromotion:
        return self._decide(request_id, approve=True, comment=comment)

    def reject_promotion(self, request_id: str, *, comment: str | None = None) -> EnvPromotion:
        return self._decide(request_id, approve=False, comment=comment)

    def _decide(self, request_id: str, *, approve: bool, comment: str | None) -> EnvPromotion:
        row = self._row(request_id)
        verb = "approve" if approve else "reject"
        action = f"environments.{verb}_promotion"
        self._ctx.require(Permission.APPROVE, row["team"], action=action, asset=row["subject"])
        if row["status"] != PromotionStatus.PENDING.value:
            raise Conflict(f"promotion request {row['id']} is {row['status']}, not pending")
        me = self.principal.name
        if approve and row["requested_by"] == me:
            raise PermissionDenied(
                f"{me} requested this promotion and may not approve it (self-approval is "
                "refused; another approver must)",
                request_id=row["id"],
            )
        # Claim the request first (two approvers at once: one wins), then carry it out
        # outside the transaction (it writes this catalog itself); a failure re-opens it.
        with self._ctx.mutation(
            action, team=row["team"], asset=row["subject"], permission=Permission.APPROVE
        ) as m:
            done = m.conn.execute(
                env_promotions.update()
                .where(env_promotions.c.id == row["id"])
                .where(env_promotions.c.status == PromotionStatus.PENDING.value)
                .values(
                    status=(
                        PromotionStatus.APPROVED if approve else PromotionStatus.REJECTED
                    ).value,
                    decided_by=me,
                    decided_at=utcnow(),
                    comment=comment if comment is not None else row["comment"],
                )
            ).rowcount
            if not done:
                raise Conflict(f"promotion request {row['id']} was decided meanwhile")
            m.details = {"request": row["id"], "source": row["source"]}
        if approve:
            self._finish(row)
        return self.get_promotion(row["id"])

    def _finish(self, row: dict[str, Any]) -> None:
        """Carry out a claimed approval and record its result, or re-open it on failure."""
        where = env_promotions.c.id == row["id"]
        try:
            result = self._carry_out(row)
        except BaseException:
            with self._ctx.db.begin() as conn:
                conn.execute(
                    env_promotions.update()
                    .where(where)
                    .values(status=PromotionStatus.PENDING.value, decided_by=None, decided_at=None)
                )
            raise
        with self._ctx.db.begin() as conn:
            conn.execute(env_promotions.update().where(where).values(result=result))

    def _carry_out(self, row: dict[str, Any]) -> dict[str, Any]:
        """Apply an approved request: the source is read, and the target written, as the requester."""
        source = self._there(row["source"], row["requested_by"])  # still a principal there
        here = self._open(self._ctx.settings.environment or "", row["requested_by"])
        payload = row["payload"]
        if row["kind"] == "model":
            svc = source.environments
            return svc._copy_model(here, payload["name"], int(payload["version"]))
        target = self._ctx.settings.environment or ""
        if "desired" not in payload:
            raise Conflict("this request predates promotion by platform as code; reject it")
        plan, code_plan = plan_promotion(
            here,
            Desired.model_validate(payload["desired"]),
            source=row["source"],
            target=target,
            refused=payload["refused"],
        )
        if plan.digest != payload["digest"]:
            raise Conflict(
                f"'{target}' changed since this promotion was requested; reject it and "
                "review a new plan"
            )
        return apply_promotion(here, code_plan, plan.refused)


def _to_model(row: dict[str, Any], target: str) -> EnvPromotion:
    data = {k: v for k, v in row.items() if k != "payload"}
    return EnvPromotion(**data, target=target)
