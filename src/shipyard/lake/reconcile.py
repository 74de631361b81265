"""Lake commits the catalog missed, recorded as ``recovered`` and audited.

A lake write commits to Delta, then records the catalog version and its audit
record in a second transaction. A crash (or a catalog that stays locked) between
the two leaves a Delta version the catalog does not know. Such writes leave an
unlocked marker behind (``pending.py``); the lake service looks for them when it
is first used in a process and before every write, and records each missing
version as recovered, with a ``lake.write.recovered`` audit record in the same
transaction. ``reconcile(all_tables=True)`` compares every cataloged table with
its Delta version instead (for writes that crashed on another host).
"""

from __future__ import annotations

import logging
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.lake import records
from shipyard.lake._base import LakeBase
from shipyard.lake.models import RecoveredWrite, quarantine_name
from shipyard.lake.storage import META_PRINCIPAL
from shipyard.security.models import ALL_TEAMS, Permission

log = logging.getLogger("shipyard.lake")

ACTION = "lake.write.recovered"
#: At most this many missing versions are recorded one by one (then only the newest).
MAX_VERSIONS = 20


def recover_orphans(lake: LakeBase) -> list[RecoveredWrite]:
    """Reconcile the writes whose markers nobody holds (best effort: a catalog
    still busy leaves the marker for the next time)."""
    out: list[RecoveredWrite] = []
    for marker in lake.pending.orphans():
        if not marker.table:
            marker.release(done=True)
            continue
        try:
            found = [
                r
                for name in (marker.table, quarantine_name(marker.table))
                if (r := recover_table(lake, name, marker.info)) is not None
            ]
        except ShipyardError as exc:
            log.warning("could not reconcile lake table %s yet: %s", marker.table, exc.message)
            marker.release(done=False)
            continue
        marker.release(done=True)
        out.extend(found)
    return out


def recover_table(lake: LakeBase, name: str, info: dict[str, Any]) -> RecoveredWrite | None:
    """Record the Delta versions of ``name`` newer than the catalog's, if any."""
    ctx = lake._ctx
    dt = lake.storage.find(name)
    if dt is None:
        return None
    with ctx.db.connect() as conn:
        asset = ctx.catalog.find(conn, records.KIND, name)
    latest = dt.version()
    if asset is not None and asset.version >= latest:
        return None  # the usual case: nothing missing, and no write lock taken
    with ctx.db.begin_nowait(ctx.settings.lake.catalog_wait) as conn:
        asset = ctx.catalog.find(conn, records.KIND, name)  # again, under the lock
        known = asset.version if asset is not None else -1
        if known >= latest:
            return None
        team = asset.owner if asset is not None else info.get("team") or ctx.default_team
        versions = list(range(max(known + 1, latest - MAX_VERSIONS + 1), latest + 1))
        mark = {"action": info.get("action"), "batch_id": info.get("batch_id")}
        for v in versions:
            snap = dt if v == latest else lake.storage.open(name, version=v)
            records.record(
                ctx,
                conn,
                lake.storage,
                name,
                lake.storage.stats(snap),
                owner=team,
                properties={"recovered": {"version": v, **mark}},
            )
        principal = info.get("principal") or _committer(dt) or lake.principal.name
        ctx.audit.write(
            conn,
            principal=principal,
            action=ACTION,
            outcome="ok",
            asset=f"table:{name}@{latest}",
            team=team,
            details={"versions": versions, **mark, "recovered_by": lake.principal.name},
        )
    return RecoveredWrite(table=name, versions=versions, principal=principal, **mark)


def _committer(dt: Any) -> str | None:
    history = dt.history(1)
    return history[0].get(META_PRINCIPAL) if history else None


class ReconcileMixin(LakeBase):
    """``LakeService.reconcile``."""

    def reconcile(self, *, all_tables: bool = False) -> list[RecoveredWrite]:
        """Record lake commits the catalog missed (marked ``recovered``, audited as
        ``lake.write.recovered``).

        Writes that died in this host's processes are found without a scan, and
        this also runs by itself when the lake is first used and before each write.

        Args:
            all_tables: also compare every cataloged table's Delta version with the
                catalog's (one Delta log read per table; admins only).

        Returns:
            One ``RecoveredWrite`` per table that was behind.

        Raises:
            PermissionDenied: ``all_tables`` without admin.
        """
        if all_tables:
            self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="lake.reconcile")
        opened, self._state.recovered_on_open = self._state.recovered_on_open, []
        out = [*opened, *recover_orphans(self)]
        if all_tables:
            with self._ctx.db.connect() as conn:
                assets = self._ctx.catalog.search(conn, kind=records.KIND, limit=100_000)
            for a in assets:
                found = recover_table(self, a.name, {"action": "lake.reconcile"})
                if found is not None:
                    out.append(found)
        return out
