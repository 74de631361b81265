"""Time travel and table maintenance: history, restore, optimize, vacuum (all audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deltalake import CommitProperties
from deltalake.exceptions import DeltaError

from shipyard.errors import InvalidArgument, NotFound
from shipyard.lake._base import LakeBase
from shipyard.lake.models import (
    MIN_RETENTION_HOURS,
    HistoryEntry,
    MaintenanceResult,
    TableInfo,
)
from shipyard.lake.storage import META_OPERATION, META_PRINCIPAL


class MaintenanceMixin(LakeBase):
    """Methods of ``LakeService`` that act on a table's Delta log."""

    def history(self, name: str, *, limit: int | None = None) -> list[HistoryEntry]:
        """Versions of a table, newest first: time, operation, who, rows added/removed."""
        self.get_table(name)
        dt = self.storage.open(name)
        out = []
        for h in dt.history(limit):
            metrics = h.get("operationMetrics") or {}
            added = metrics.get("num_added_rows", metrics.get("num_target_rows_inserted"))
            removed = metrics.get("num_removed_rows", metrics.get("num_target_rows_deleted"))
            out.append(
                HistoryEntry(
                    version=int(h.get("version", 0)),
                    timestamp=datetime.fromtimestamp(h["timestamp"] / 1000, tz=UTC),
                    operation=h.get(META_OPERATION) or h.get("operation", ""),
                    principal=h.get(META_PRINCIPAL),
                    rows_added=added,
                    rows_removed=removed,
                    parameters={k: v for k, v in (h.get("operationParameters") or {}).items()},
                )
            )
        return out

    def restore(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | str | None = None,
    ) -> TableInfo:
        """Make a table's content that of an earlier version (a new version; audited).

        Raises:
            InvalidArgument: neither or both of ``version`` and ``as_of``.
            NotFound: no such table or version.
        """
        if (version is None) == (as_of is None):
            raise InvalidArgument("restore needs exactly one of version= or as_of=", table=name)
        team = self.get_table(name).owner
        with self._audited("lake.restore", team, f"table:{name}"):
            dt = self.storage.open(name)
            if version is not None and not 0 <= version <= dt.version():
                raise NotFound(f"table '{name}' has no version {version}", table=name)
            try:
                dt.restore(
                    version if version is not None else _ts(as_of),
                    commit_properties=CommitProperties(
                        custom_metadata={
                            META_PRINCIPAL: self.principal.name,
                            META_OPERATION: "restore",
                        }
                    ),
                )
            except DeltaError as exc:
                raise InvalidArgument(f"cannot restore '{name}': {exc}", table=name) from None
        return self._maintained(
            name,
            team,
            "lake.restore",
            {"to_version": version, "as_of": str(as_of) if as_of else None},
        )

    def optimize(
        self,
        name: str,
        *,
        z_order: list[str] | None = None,
        target_size: int | None = None,
    ) -> MaintenanceResult:
        """Compact small files (optionally z-ordered by columns) into a new version."""
        team = self.get_table(name).owner
        with self._audited("lake.optimize", team, f"table:{name}"):
            dt = self.storage.open(name)
            props = CommitProperties(
                custom_metadata={META_PRINCIPAL: self.principal.name, META_OPERATION: "optimize"}
            )
            try:
                if z_order:
                    metrics = dt.optimize.z_order(
                        z_order, target_size=target_size, commit_properties=props
                    )
                else:
                    metrics = dt.optimize.compact(target_size=target_size, commit_properties=props)
            except DeltaError as exc:
                raise InvalidArgument(f"cannot optimize '{name}': {exc}", table=name) from None
        self._maintained(name, team, "lake.optimize", {"z_order": z_order})
        return MaintenanceResult(
            table=name, version=dt.version(), operation="optimize", metrics=_plain(metrics)
        )

    def vacuum(
        self,
        name: str,
        *,
        retention_hours: int = MIN_RETENTION_HOURS,
        dry_run: bool = False,
        force: bool = False,
    ) -> MaintenanceResult:
        """Delete files no version newer than ``retention_hours`` needs.

        Raises:
            InvalidArgument: retention below the guard (7 days) without ``force=True``
                (it would break time travel and readers of recent versions).
        """
        if retention_hours < MIN_RETENTION_HOURS and not force:
            raise InvalidArgument(
                f"retention of {retention_hours}h is below the {MIN_RETENTION_HOURS}h guard; "
                "time travel to older versions would break (pass force=True to do it anyway)",
                table=name,
                retention_hours=retention_hours,
            )
        team = self.get_table(name).owner
        with self._audited("lake.vacuum", team, f"table:{name}"):
            dt = self.storage.open(name)
            removed = dt.vacuum(
                retention_hours=retention_hours,
                dry_run=dry_run,
                enforce_retention_duration=False,
                commit_properties=CommitProperties(
                    custom_metadata={META_PRINCIPAL: self.principal.name, META_OPERATION: "vacuum"}
                ),
            )
        self._maintained(
            name,
            team,
            "lake.vacuum",
            {"retention_hours": retention_hours, "dry_run": dry_run, "files": len(removed)},
        )
        return MaintenanceResult(
            table=name,
            version=dt.version(),
            operation="vacuum",
            metrics={"files_deleted": len(removed), "dry_run": dry_run, "files": removed[:100]},
        )

    def _maintained(self, name: str, team: str, action: str, details: dict[str, Any]) -> TableInfo:
        with self._recording(action, team=team, asset=f"table:{name}") as m:
            asset = self._record(m.conn, name, team)
            m.asset = f"table:{name}@{asset.version}"
            m.details = details
        return self.get_table(name)


def _ts(value: datetime | str | None) -> datetime | str:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    assert value is not None
    return value


def _plain(metrics: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(metrics).items() if isinstance(v, int | float | str | bool)}
