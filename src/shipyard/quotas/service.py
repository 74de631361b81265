"""``QuotaService``: admins set caps per team and per principal; other services ask it.

Setting and removing a quota needs ``admin`` on every team (``*``): a team's own
admin must not lift its team's cap. Reading is for admins (every quota) and for
anyone about themselves (their own quotas and those of their teams).

Other services call ``enforce`` before they add to a capped resource: a job
submission, a new deployment, a lake write, a materialization. Counted resources
(jobs, deployments) are refused when one more would pass the cap; growing ones
(storage bytes, online rows), whose growth is known only after the write, are
refused once their use has reached it. Held ones (CPUs and GPUs of running training
jobs) are checked twice: a request larger than the whole cap is refused when it is
submitted (``enforce_request``); one that fits waits, when it runs, until the older
jobs under the same cap leave room (``caps``, read by ``shipyard.training_jobs``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import ValidationError

from shipyard._internal.identity import ALL_TEAMS, Permission
from shipyard._internal.paging import (
    Page,
    decode_offset_token,
    encode_offset_token,
    resolve_limit,
    scope_digest,
)
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import InvalidArgument, NotFound
from shipyard.quotas.gate import QuotaGate
from shipyard.quotas.models import Quota, QuotaResource, QuotaScope, QuotaStatus
from shipyard.quotas.probes import Probe

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: Resources whose use only grows by a write's size, known after the write.
GROWING = frozenset({QuotaResource.STORAGE_BYTES, QuotaResource.ONLINE_ROWS})


def _enum(cls: type, value: object, what: str) -> object:
    try:
        return cls(value)
    except ValueError:
        raise InvalidArgument(
            f"unknown {what} {str(value)[:64]!r}: one of {[v.value for v in cls]}"  # type: ignore[attr-defined]
        ) from None


class QuotaService(Service):
    """Quotas and rate limits.

    Example:
        >>> p.quotas.set_quota("team", "ml", "concurrent_jobs", 10)
        >>> [q.quota.limit for q in p.quotas.list_quotas(subject="ml").items]
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        gate: QuotaGate,
        probes: Callable[[], dict[QuotaResource, Probe]],
    ) -> None:
        super().__init__(ctx)
        self._gate = gate
        self._probes = probes

    # -- admin -------------------------------------------------------------------------

    def set_quota(self, scope: str, subject: str, resource: str, limit: int) -> Quota:
        """Create or replace the cap of ``resource`` for a team or principal (admins).

        Raises:
            InvalidArgument: an unknown scope or resource, a bad name, a negative limit.
            PermissionDenied: the caller is not an admin of every team.
        """
        quota = self._parse(scope, subject, resource, limit)
        asset = "quota:{}/{}/{}".format(*quota.key)
        with self._ctx.mutation(
            "quotas.set", team=ALL_TEAMS, asset=asset, permission=Permission.ADMIN
        ) as m:
            out = self._gate.store.put(m.conn, quota, by=self.principal.name)
            m.details = {"limit": quota.limit}
        self._changed(out)
        return out

    def delete_quota(self, scope: str, subject: str, resource: str) -> Quota:
        """Lift a cap (admins); returns the quota that was removed.

        Raises:
            NotFound: no such quota.
        """
        quota = self._parse(scope, subject, resource, 0)
        asset = "quota:{}/{}/{}".format(*quota.key)
        with self._ctx.mutation(
            "quotas.delete", team=ALL_TEAMS, asset=asset, permission=Permission.ADMIN
        ) as m:
            found = [q for q in self._gate.store.list(m.conn) if q.key == quota.key]
            if not found or not self._gate.store.delete(m.conn, *quota.key):
                raise NotFound(f"no {resource} quota for {scope} '{subject}'", asset=asset)
        self._changed(found[0])
        return found[0]

    def _changed(self, quota: Quota) -> None:
        self._gate.invalidate()
        if quota.resource is QuotaResource.REQUESTS_PER_SECOND:
            self._gate.limiter.reset(f"rps:{quota.scope.value}:{quota.subject}", quota.limit)

    @staticmethod
    def _parse(scope: str, subject: str, resource: str, limit: int) -> Quota:
        _enum(QuotaScope, scope, "quota scope")
        _enum(QuotaResource, resource, "quota resource")
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidArgument("a quota limit must be an integer", limit=str(limit)[:40])
        try:
            return Quota.model_validate(
                {"scope": scope, "subject": subject, "resource": resource, "limit": limit}
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InvalidArgument(f"invalid quota {where}: {err['msg']}") from None

    # -- reads -------------------------------------------------------------------------

    def list_quotas(
        self,
        *,
        scope: str | None = None,
        subject: str | None = None,
        resource: str | None = None,
        with_usage: bool = False,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[QuotaStatus]:
        """Quotas the caller may see (admins: all; others: their own and their teams').

        ``with_usage`` measures what each subject uses now (one query per quota;
        requests per second are not measured).
        """
        if scope is not None:
            _enum(QuotaScope, scope, "quota scope")
        if resource is not None:
            _enum(QuotaResource, resource, "quota resource")
        size = resolve_limit(self._ctx.settings, limit)
        digest = scope_digest("quotas.list", {"s": scope, "n": subject, "r": resource})
        offset = decode_offset_token(page_token, digest)
        me = self.principal
        teams = None if me.is_admin else [t for t in me.roles if t != ALL_TEAMS]
        if teams == []:  # no role anywhere: refused (and audited), as other list calls are
            self._ctx.require(Permission.READ, self._ctx.default_team, action="quotas.list")
        with self._ctx.db.connect() as conn:
            found = self._gate.store.list(
                conn, teams=teams, principal=None if teams is None else me.name, resource=resource
            )
            found = [
                q
                for q in found
                if (scope is None or q.scope.value == scope)
                and (subject is None or q.subject == subject)
            ]
            chunk = found[offset : offset + size]
            items = [
                QuotaStatus(quota=q, used=self._used(conn, q) if with_usage else None)
                for q in chunk
            ]
        more = offset + size < len(found)
        return Page(
            items=items,
            next_page_token=encode_offset_token(offset + size, digest) if more else None,
        )

    def measure(self, scope: str, subject: str, resource: str) -> float | None:
        """What ``subject`` uses of ``resource`` now (``None``: not measured on demand).

        Raises:
            PermissionDenied: the caller is not an admin of every team.
        """
        quota = self._parse(scope, subject, resource, 0)
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="quotas.measure")
        with self._ctx.db.connect() as conn:
            return self._used(conn, quota)

    def _used(self, conn: Connection, quota: Quota) -> float | None:
        probe = self._probes().get(quota.resource)
        return probe(conn, quota.scope, quota.subject) if probe is not None else None

    # -- what other services call ------------------------------------------------------------

    def caps(self, resource: QuotaResource, team: str) -> list[tuple[QuotaScope, str, int]]:
        """The caps of ``resource`` on the caller and on ``team`` (the cached table, no
        query): what a training job waits under."""
        return [
            (scope, subject, limit)
            for scope, subject in (
                (QuotaScope.PRINCIPAL, self.principal.name),
                (QuotaScope.TEAM, team),
            )
            if (limit := self._gate.limit_for(scope, subject, resource)) is not None
        ]

    def enforce_request(
        self, resource: QuotaResource, team: str, *, action: str, amount: float
    ) -> None:
        """Raise ``QuotaExceeded`` (audited once per window) if ``amount`` of a held
        resource (``cpus``, ``gpus``) is more than the caller's or ``team``'s whole cap:
        such a job could never start. Within the cap it waits for room when it runs."""
        caps = self.caps(resource, team)
        if not caps:
            return
        self._ctx.require(Permission.WRITE, team, action=action)
        for scope, subject, limit in caps:
            if amount > limit:
                raise self._gate.refuse_request(
                    self.principal.name, scope, subject, resource, limit, amount
                )

    def enforce(self, resource: QuotaResource, team: str, *, action: str, adding: int = 1) -> None:
        """Raise ``QuotaExceeded`` (audited once per window) if the caller or ``team``
        would pass its cap of ``resource`` by adding ``adding`` of it.

        Costs nothing measurable when no quota caps ``resource`` for them (a dict
        lookup on the cached table); one count query per cap otherwise. The caller's
        ``write`` permission on ``team`` is checked first (as ``action``), so a refusal
        for lack of rights is never reported as a quota.
        """
        caps = self.caps(resource, team)
        if not caps:
            return
        self._ctx.require(Permission.WRITE, team, action=action)
        probe = self._probes()[resource]
        with self._ctx.db.connect() as conn:
            for scope, subject, limit in caps:
                used = probe(conn, scope, subject)
                over = used >= limit if resource in GROWING else used + adding > limit
                if over:
                    raise self._gate.refuse(
                        self.principal.name, scope, subject, resource, limit, used=used
                    )
