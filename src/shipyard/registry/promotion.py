"""Aliases and their governance: protected aliases, promotion requests, policies, history."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.enums import parse_enum
from shipyard._internal.ids import new_id
from shipyard._internal.paging import (
    Key,
    Keyset,
    Page,
    keyset_page,
    readable_teams,
    resolve_limit,
    team_filter,
)
from shipyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from shipyard.registry import store
from shipyard.registry.models import (
    DEFAULT_PROTECTED_ALIASES,
    AliasEvent,
    AliasPolicy,
    ModelVersion,
    PromotionRequest,
    PromotionStatus,
)
from shipyard.registry.tables import (
    promotions,
    registered_models,
)
from shipyard.security.models import Permission

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from shipyard.catalog.context import ServiceContext

_ALIAS = re.compile(r"^[A-Za-z_][\w\-]{0,127}$")
_RESERVED = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias) or _RESERVED.match(alias):
        raise InvalidArgument(
            f"invalid alias '{alias}': letters, digits, _ and -, starting with a letter; "
            "'latest' and 'v<number>' are reserved",
            alias=str(alias),
        )
    return alias


class PromotionMixin:
    _ctx: ServiceContext

    if TYPE_CHECKING:

        def _owner_of(self, conn: Connection, name: str) -> str: ...
        def _version(self, conn: Connection, name: str, version: int) -> ModelVersion: ...

    # -- policies ------------------------------------------------------------------------

    def get_alias_policy(self, name: str, alias: str) -> AliasPolicy:
        """The policy for ``alias`` of model ``name`` (its own, else ``*``, else the default)."""
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name) if name != "*" else self._ctx.default_team
            self._ctx.require(Permission.READ, team, action="registry.get_alias_policy")
            return self._policy(conn, name, alias)

    def _policy(self, conn: Connection, name: str, alias: str) -> AliasPolicy:
        row = store.find_alias_policy(conn, name, alias)
        if row is None:
            return AliasPolicy(name="*", alias=alias, protected=alias in DEFAULT_PROTECTED_ALIASES)
        return AliasPolicy(
            name=row.name,
            alias=row.alias,
            protected=row.protected,
            require_signature=row.require_signature,
            metric=row.metric,
            min_value=row.min_value,
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
        """Protect an alias and set what a version needs to hold it (admin only).

        Raises:
            InvalidArgument: ``metric`` without ``min_value`` or the reverse.
        """
        check_alias(alias)
        if (metric is None) != (min_value is None):
            raise InvalidArgument("metric and min_value go together")
        team = self._ctx.default_team
        with self._ctx.db.connect() as conn:
            if name != "*":
                team = self._owner_of(conn, name)
        with self._ctx.mutation(
            "registry.set_alias_policy",
            team=team,
            asset=f"model:{name}",
            permission=Permission.ADMIN,
        ) as m:
            store.replace_alias_policy(
                m.conn,
                name=name,
                alias=alias,
                protected=protected,
                require_signature=require_signature,
                metric=metric,
                min_value=min_value,
                updated_by=self._ctx.principal.name,
                updated_at=utcnow(),
            )
            policy = AliasPolicy(
                name=name,
                alias=alias,
                protected=protected,
                require_signature=require_signature,
                metric=metric,
                min_value=min_value,
            )
            m.details = policy.model_dump()
            return policy

    def _enforce(self, conn: Connection, policy: AliasPolicy, mv: ModelVersion) -> None:
        """Raise Conflict when ``mv`` does not meet ``policy``."""
        where = f"alias '{policy.alias}' of model '{mv.name}'"
        if policy.require_signature and not (mv.signature or {}).get("inputs"):
            raise Conflict(
                f"{where} requires a signature; version {mv.version} has none",
                policy=policy.model_dump(),
            )
        if policy.metric is None or policy.min_value is None:
            return
        value = store.run_metric(conn, mv.run_id, policy.metric) if mv.run_id else None
        if value is None or value < policy.min_value:
            got = "no value" if value is None else f"{value:g}"
            raise Conflict(
                f"{where} requires metric {policy.metric} >= {policy.min_value:g}; "
                f"version {mv.version} has {got}",
                policy=policy.model_dump(),
                value=value,
            )

    # -- aliases -------------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, *, comment: str | None = None
    ) -> PromotionRequest:
        """Point ``alias`` at ``version``.

        A protected alias (``champion`` by default) is not moved: a pending
        ``PromotionRequest`` is returned for another principal with the approve
        permission to ``approve_promotion``. Other aliases move at once (status
        ``applied``). The policy (signature, metric threshold) is checked either way.

        Raises:
            NotFound: no such model or version. Conflict: the version fails the policy.
        """
        check_alias(alias)
        version = int(version)
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name)
        with self._ctx.mutation(
            "registry.set_alias", team=team, asset=f"model:{name}@{version}"
        ) as m:
            mv = self._version(m.conn, name, version)
            policy = self._policy(m.conn, name, alias)
            self._enforce(m.conn, policy, mv)
            now = utcnow()
            status = PromotionStatus.PENDING if policy.protected else PromotionStatus.APPLIED
            if status == PromotionStatus.PENDING:
                existing = store.find_pending_request(m.conn, name, alias, version)
                if existing is not None:
                    m.details = {"alias": alias, "request": existing.id, "status": "pending"}
                    return store.to_request(existing)
            request_id = new_id()
            store.insert_request(
                m.conn,
                id=request_id,
                name=name,
                alias=alias,
                version=version,
                status=status.value,
                requested_by=self._ctx.principal.name,
                requested_at=now,
                comment=comment,
                decided_by=None,
                decided_at=None,
            )
            if status == PromotionStatus.APPLIED:
                self._apply(m.conn, name, alias, version, request_id, approved_by=None)
            m.details = {
                "alias": alias,
                "version": version,
                "request": request_id,
                "status": status.value,
            }
            return store.to_request(store.request_row(m.conn, request_id))

    def _apply(
        self,
        conn: Connection,
        name: str,
        alias: str,
        version: int | None,
        request_id: str | None,
        *,
        approved_by: str | None,
        requested_by: str | None = None,
    ) -> None:
        previous = store.alias_version(conn, name, alias)
        store.move_alias(conn, name, alias, version)
        store.insert_alias_event(
            conn,
            name=name,
            alias=alias,
            version=version,
            previous_version=previous,
            action="set" if version is not None else "delete",
            principal=requested_by or self._ctx.principal.name,
            approved_by=approved_by,
            request_id=request_id,
            at=utcnow(),
        )
        asset = self._ctx.catalog.find(conn, "model", name)
        if asset is not None:
            current = dict(asset.properties.get("aliases") or {})
            if version is None:
                current.pop(alias, None)
            else:
                current[alias] = version
            self._ctx.catalog.update(
                conn,
                asset,
                description=None,
                owner=None,
                tags=None,
                properties={"aliases": current},
            )

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias. A protected alias needs the approve permission.

        Raises:
            NotFound: the model has no such alias.
        """
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name)
            protected = self._policy(conn, name, alias).protected
        permission = Permission.APPROVE if protected else Permission.WRITE
        with self._ctx.mutation(
            "registry.delete_alias", team=team, asset=f"model:{name}", permission=permission
        ) as m:
            if store.alias_version(m.conn, name, alias) is None:
                raise NotFound(f"model '{name}' has no alias '{alias}'", name=name, alias=alias)
            self._apply(m.conn, name, alias, None, None, approved_by=None)
            m.details = {"alias": alias}

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """Raises NotFound when the alias is not set."""
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name)
            self._ctx.require(Permission.READ, team, action="registry.get_model_version")
            version = store.alias_version(conn, name, alias)
            if version is None:
                raise NotFound(f"model '{name}' has no alias '{alias}'", name=name, alias=alias)
            return self._version(conn, name, version)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """Every change of the model's aliases, oldest first, with who asked and who approved."""
        with self._ctx.db.connect() as conn:
            team = self._owner_of(conn, name)
            self._ctx.require(Permission.READ, team, action="registry.alias_history")
            return store.history_rows(conn, name, alias)

    # -- promotion requests ------------------------------------------------------------------

    def get_promotion(self, request_id: str) -> PromotionRequest:
        with self._ctx.db.connect() as conn:
            row = store.request_row(conn, request_id)
            self._ctx.require(
                Permission.READ, self._owner_of(conn, row.name), action="registry.get_promotion"
            )
            return store.to_request(row)

    def list_promotions(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[PromotionRequest]:
        """Promotion requests, newest first (``status="pending"`` for the approval queue)."""
        size = resolve_limit(self._ctx.settings, limit)
        teams = readable_teams(self._ctx.principal)
        q = (
            sa.select(promotions)
            .join(registered_models, registered_models.c.name == promotions.c.name)
            .where(team_filter(registered_models.c.owner, teams))
        )
        if name:
            q = q.where(promotions.c.name == name)
        if status:
            status = parse_enum(PromotionStatus, status, "status").value
            q = q.where(promotions.c.status == status)
        keyset = Keyset(
            "registry.promotions",
            Key(promotions.c.requested_at, descending=True),
            Key(promotions.c.id, descending=True),
        )
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(
                conn,
                q,
                keyset,
                limit=size,
                page_token=page_token,
                filters={"name": name, "status": status},
            )
        return Page(items=[store.to_request(r) for r in rows], next_page_token=token)

    def approve_promotion(self, request_id: str, *, comment: str | None = None) -> PromotionRequest:
        """Approve a pending request and move the alias.

        Raises:
            PermissionDenied: the caller lacks the approve permission, or asked for it
                (self-approval is refused). Conflict: not pending, or the policy fails.
        """
        return self._decide(request_id, approve=True, comment=comment)

    def reject_promotion(self, request_id: str, *, comment: str | None = None) -> PromotionRequest:
        """Reject a pending request (the alias does not move)."""
        return self._decide(request_id, approve=False, comment=comment)

    def _decide(self, request_id: str, *, approve: bool, comment: str | None) -> PromotionRequest:
        with self._ctx.db.connect() as conn:
            row = store.request_row(conn, request_id)
            team = self._owner_of(conn, row.name)
        action = "registry.approve_promotion" if approve else "registry.reject_promotion"
        with self._ctx.mutation(
            action,
            team=team,
            asset=f"model:{row.name}@{row.version}",
            permission=Permission.APPROVE,
        ) as m:
            row = store.request_row(m.conn, request_id)
            if row.status != PromotionStatus.PENDING.value:
                raise Conflict(
                    f"promotion request {request_id} is {row.status}, not pending",
                    status=row.status,
                )
            me = self._ctx.principal.name
            if approve and row.requested_by == me:
                raise PermissionDenied(
                    f"{me} requested this promotion and may not approve it (self-approval "
                    "is refused; another approver must)",
                    request_id=request_id,
                )
            if approve:
                mv = self._version(m.conn, row.name, row.version)
                self._enforce(m.conn, self._policy(m.conn, row.name, row.alias), mv)
                self._apply(
                    m.conn,
                    row.name,
                    row.alias,
                    row.version,
                    request_id,
                    approved_by=me,
                    requested_by=row.requested_by,
                )
            store.decide_request(
                m.conn,
                request_id,
                status=(PromotionStatus.APPROVED if approve else PromotionStatus.REJECTED).value,
                decided_by=me,
                decided_at=utcnow(),
                comment=comment if comment is not None else row.comment,
            )
            m.details = {"request": request_id, "alias": row.alias, "version": row.version}
            return store.to_request(store.request_row(m.conn, request_id))
