"""Platform lifecycle events: what services did, on the event bus, for triggers and consumers.

Every change a service makes is an audited mutation, and its audit record already says
what happened (``lake.write`` of ``table:gold.x@4``, ``registry.set_alias`` with its
alias and version, ...). ``LifecycleAudit`` wraps the audit writer that ``Platform``
hands to every service: when a mutation's ``ok`` record is one of ``EVENTS``' actions,
it publishes the event **in the same transaction** (on the SQL bus the log is the
outbox; with NATS the event is a row of ``event_outbox`` that ``shipyard.events.relay``
publishes once the change committed), so an event is published if and only if the
change committed, and no service can forget to announce one. Job ends are not audited
mutations: the worker announces them (``JobService.announce``) right after it records them.

Events go to the topic ``shipyard.<team>.<event>`` of the team that owns the asset
(``shipyard.ml.table.committed``), registered in the catalog as that team's topic on
first use; so a team's readers see its events and nobody else's, and a pipeline's
``on_topics`` can name them. Callers cannot publish to ``shipyard.*`` topics. Every
record has ``event``, ``at`` (ISO-8601 UTC), ``team``, ``principal``, ``asset`` and the
fields of its kind (``SCHEMAS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.outbox import Outbox
from shipyard.errors import AlreadyExists
from shipyard.events.backends.base import CATALOG_TX
from shipyard.events.models import KIND as TOPIC

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from shipyard._internal.service import AuditWriter
    from shipyard._internal.shared import Shared
    from shipyard.catalog.store import SqlCatalogStore
    from shipyard.events.backends.base import EventBus
    from shipyard.events.relay import OutboxRelay

#: Topics of lifecycle events start with this; callers may not publish there.
PREFIX = "shipyard."

#: The fields every lifecycle record has (``Lifecycle.announce``, ``JobService.announce``).
ENVELOPE = ("event", "at", "team", "principal", "asset")
#: The fields each event adds to the envelope (documented in docs/pipelines.md; a
#: topic trigger's ``where`` on a lifecycle topic may name these and ``ENVELOPE``).
SCHEMAS: dict[str, tuple[str, ...]] = {
    "table.committed": ("table", "version", "operation", "rows"),
    "features.materialized": ("view", "rows", "entities", "source_version"),
    "run.finished": ("run_id", "status"),
    "model.version_created": ("name", "version", "run_id", "source"),
    "alias.changed": ("name", "alias", "version"),
    "promotion.approved": ("name", "alias", "version", "request"),
    "deployment.updated": ("deployment", "version", "operation"),
    "job.finished": ("job_id", "kind", "target", "run_id", "step", "attempts"),
    "job.failed": ("job_id", "kind", "target", "run_id", "step", "attempts", "state", "error"),
}

Payload = dict[str, Any]


def topic(team: str, event: str) -> str:
    return f"{PREFIX}{team}.{event}"


def event_of(name: str) -> str | None:
    """The event a ``shipyard.<team>.<event>`` topic carries (None: not a lifecycle topic)."""
    if not name.startswith(PREFIX):
        return None
    rest = name[len(PREFIX) :]
    return next((e for e in SCHEMAS if rest.endswith(f".{e}") and len(rest) > len(e) + 1), None)


def event_fields(name: str) -> tuple[str, ...] | None:
    """Every field of the records of lifecycle topic ``name`` (None: not one)."""
    event = event_of(name)
    return None if event is None else ENVELOPE + SCHEMAS[event]


def _ref(asset: str | None) -> tuple[str, int | None]:
    """``table:gold.x@4`` -> (``gold.x``, 4)."""
    name = (asset or "").partition(":")[2]
    base, at, version = name.rpartition("@")
    if at and version.isdigit():
        return base, int(version)
    return name, None


def _table(action: str, asset: str | None, d: Payload) -> list[tuple[str, Payload]]:
    table, version = _ref(asset)
    if version is None or d.get("skipped") or d.get("mode") == "noop":
        return []  # nothing committed
    rows = d.get("rows", d.get("rows_written"))
    op = action.split(".", 1)[1]
    return [
        ("table.committed", {"table": table, "version": version, "operation": op, "rows": rows})
    ]


def _materialized(action: str, asset: str | None, d: Payload) -> list[tuple[str, Payload]]:
    view, _ = _ref(asset)
    fields = {k: d.get(k) for k in ("rows", "entities", "source_version")}
    return [("features.materialized", {"view": view, **fields})]


def _run(action: str, asset: str | None, d: Payload) -> list[tuple[str, Payload]]:
    status = d.get("status")
    if status not in ("FINISHED", "FAILED", "KILLED"):
        return []
    return [("run.finished", {"run_id": _ref(asset)[0], "status": status})]


def _version(action: str, asset: str | None, d: Payload) -> list[tuple[str, Payload]]:
    name, version = _ref(asset)
    fields = {
        "name": name,
        "version": version,
        "run_id": d.get("run_id"),
        "source": d.get("source"),
    }
    return [("model.version_created", fields)]


def _alias(action: str, asset: str | None, d: Payload) -> list[tuple[str, Payload]]:
    name, version = _ref(asset)
    if action == "registry.delete_alias":
        return [("alias.changed", {"name": name, "alias": d.get("alias"), "version": None})]
    if action == "registry.set_alias" and d.get("status") != "applied":
        return []  # waits for approval: announced when approved
    moved = {"name": name, "alias": d.get("alias"), "version": d.get("version", version)}
    if action == "registry.approve_promotion":
        return [
            ("promotion.approved", {**moved, "request": d.get("request")}),
            ("alias.changed", moved),
        ]
    return [("alias.changed", moved)]


def _deployment(action: str, asset: str | None, d: Payload) -> list[tuple[str, Payload]]:
    name, version = _ref(asset)
    op = action.split(".", 1)[1]
    return [("deployment.updated", {"deployment": name, "version": version, "operation": op})]


Derive = Callable[[str, str | None, Payload], list[tuple[str, Payload]]]

#: Audited actions that are lifecycle events, and how each record becomes its events.
EVENTS: dict[str, Derive] = {
    **dict.fromkeys(
        ("lake.write", "lake.ingest", "lake.refresh", "lake.apply_changes", "lake.restore"),
        _table,
    ),
    "features.materialize": _materialized,
    "tracking.update_run": _run,
    "registry.register_model": _version,
    **dict.fromkeys(
        ("registry.set_alias", "registry.approve_promotion", "registry.delete_alias"), _alias
    ),
    **dict.fromkeys(
        (
            "serving.create_deployment",
            "serving.update_deployment",
            "serving.rollback_deployment",
            "serving.delete_deployment",
            "serving.start_canary",
            "serving.advance_canary",
            "serving.rollback_canary",
        ),
        _deployment,
    ),
}


class Lifecycle:
    """Publishes lifecycle events on the bus, in the caller's transaction."""

    def __init__(self, bus: Shared[EventBus], catalog: SqlCatalogStore, relay: OutboxRelay) -> None:
        self._bus = bus
        self._catalog = catalog
        #: The outbox of a bus outside the transaction (NATS); its periodic pass is the
        #: scheduler's (``OutboxRelay.relay_pending``).
        self.relay = relay
        self._known: set[str] = set()  # topics seen in the catalog (never removed)

    def announce(
        self,
        conn: Connection,
        *,
        team: str,
        principal: str,
        asset: str | None,
        events: list[tuple[str, Payload]],
    ) -> None:
        """Publish what one change did (its ``events``) as part of ``conn``'s transaction."""
        at = utcnow().isoformat()
        for event, payload in events:
            envelope = dict(zip(ENVELOPE, (event, at, team, principal, asset), strict=True))
            self.publish(conn, team, event, [{**envelope, **payload}])

    def publish(self, conn: Connection, team: str, event: str, records: list[Payload]) -> None:
        """Publish ready records of one event kind (one batch) on the team's topic."""
        name = topic(team, event)
        self._register(conn, name, team, str(records[0].get("principal") or "platform"))
        bus = self._bus.get()
        if CATALOG_TX in bus.capabilities:
            bus.publish(name, records, tx=Outbox(conn))
            return
        # a broker outside the transaction: the outbox row commits with the change and is
        # published after the commit (or by a later relay pass)
        self.relay.stage(conn, name, records)

    def _register(self, conn: Connection, name: str, team: str, principal: str) -> None:
        """The topic as the team's catalog asset (so ``get_topic`` and triggers see it)."""
        if name in self._known:
            return
        if self._catalog.find(conn, TOPIC, name) is None:
            try:  # a savepoint: a concurrent first publisher must not undo this transaction
                with conn.begin_nested():
                    self._catalog.upsert(
                        conn,
                        kind=TOPIC,
                        name=name,
                        owner=team,
                        created_by=principal,
                        description="platform lifecycle events",
                        new_version=False,
                    )
            except (AlreadyExists, sa.exc.IntegrityError):
                pass
        self._known.add(name)


class LifecycleAudit:
    """The audit writer services get: writes the record, then the events it implies."""

    def __init__(self, audit: AuditWriter, lifecycle: Lifecycle) -> None:
        self._audit = audit
        self.lifecycle = lifecycle

    def write(
        self,
        conn: Connection,
        *,
        principal: str,
        action: str,
        outcome: str,
        asset: str | None = None,
        team: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Any:
        out = self._audit.write(
            conn,
            principal=principal,
            action=action,
            outcome=outcome,
            asset=asset,
            team=team,
            details=details,
        )
        derive = EVENTS.get(action)
        if outcome == "ok" and derive is not None and team:
            events = derive(action, asset, details or {})
            if events:
                self.lifecycle.announce(
                    conn, team=team, principal=principal, asset=asset, events=events
                )
        return out

    def __getattr__(self, name: str) -> Any:  # the rest of the audit log's interface
        return getattr(self._audit, name)
