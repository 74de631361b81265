"""Change data capture: apply insert/update/delete feeds with a Delta MERGE.

Like Databricks' APPLY CHANGES: changes are keyed by ``keys`` and ordered by
``sequence_by``; per key only the latest change of a feed counts; a change
applies only if it is newer than what the table holds, so duplicates and
out-of-order deliveries are harmless and reruns are idempotent. Deletes leave
a tombstone (key + sequence) in ``<table>__tombstones`` so that an older
change arriving after a delete cannot bring the row back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, Transaction
from deltalake.exceptions import DeltaError

from shipyard.errors import Conflict, InvalidArgument
from shipyard.lake import query, writes
from shipyard.lake._base import LakeBase
from shipyard.lake.casting import new_connection, quote
from shipyard.lake.models import ChangesResult, parse_table_name
from shipyard.lake.storage import (
    META_BATCH,
    META_OPERATION,
    META_PRINCIPAL,
    TXN_PREFIX,
    LakeStorage,
)

TOMBSTONES = "__tombstones"


def latest_changes(feed: pa.Table, keys: list[str], seq: str) -> pa.Table:
    """One change per key: the highest sequence (the last one read on a tie)."""
    con = new_connection()
    try:
        con.register(
            "__feed",
            feed.append_column("__pos", pa.array(np.arange(feed.num_rows, dtype=np.int64))),
        )
        part = ", ".join(quote(k) for k in keys)
        out = con.sql(
            f"SELECT * EXCLUDE (__pos, __rn) FROM (SELECT *, row_number() OVER (PARTITION BY "
            f"{part} ORDER BY {quote(seq)} DESC, __pos DESC) AS __rn FROM __feed) WHERE __rn = 1"
        ).to_arrow_table()
    finally:
        con.close()
    return out.cast(feed.schema)


def _merge(
    storage: LakeStorage,
    name: str,
    source: pa.Table,
    keys: list[str],
    seq: str,
    *,
    delete_flag: str | None,
    meta: dict[str, str],
    keys_applied: list[str] | None = None,
) -> dict[str, Any]:
    """MERGE ``source`` into ``name`` (created from its schema if absent)."""
    data = source.drop_columns([delete_flag]) if delete_flag else source
    if not storage.exists(name):
        storage.write(
            name,
            data.schema.empty_table(),
            mode="append",
            configuration=writes.TABLE_CONFIG,
            metadata=meta,
        )
    dt = storage.open(name)
    cond = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in keys)
    newer = f"s.{quote(seq)} > t.{quote(seq)}"
    merger = dt.merge(
        source,
        cond,
        source_alias="s",
        target_alias="t",
        commit_properties=CommitProperties(
            custom_metadata=meta,
            app_transactions=[Transaction(TXN_PREFIX + k, 1) for k in keys_applied or []] or None,
        ),
    )
    cols = {c: f"s.{quote(c)}" for c in data.column_names}
    try:
        if delete_flag:
            flag = f"s.{quote(delete_flag)}"
            merger = merger.when_matched_delete(f"{flag} AND {newer}")
            merger = merger.when_matched_update(cols, f"NOT {flag} AND {newer}")
            merger = merger.when_not_matched_insert(cols, f"NOT {flag}")
        else:
            merger = merger.when_matched_update(cols, newer).when_not_matched_insert(cols)
        return dict(merger.execute())
    except DeltaError as exc:
        raise Conflict(f"merge into '{name}' failed: {exc}", table=name) from None


def apply(
    storage: LakeStorage,
    name: str,
    feed: pa.Table,
    *,
    keys: list[str],
    seq: str,
    op_column: str,
    delete_value: str,
    principal: str,
    batch_id: str | None = None,
) -> ChangesResult:
    done = _already_applied(storage, name, batch_id)
    if done is not None:
        return ChangesResult(
            table=name, version=done, inserted=0, updated=0, deleted=0, ignored=feed.num_rows
        )
    missing = [c for c in [*keys, seq, op_column] if c not in feed.column_names]
    if missing:
        raise InvalidArgument(
            f"the change feed lacks column(s) {', '.join(missing)}", table=name, columns=missing
        )
    latest = latest_changes(feed, keys, seq)
    is_delete = pc.fill_null(
        pc.equal(pc.utf8_upper(latest.column(op_column).cast(pa.string())), delete_value.upper()),
        False,
    )
    body = latest.drop_columns([op_column]).append_column("__delete", is_delete)
    meta = {META_PRINCIPAL: principal, META_OPERATION: "apply_changes"}
    if batch_id:
        meta[META_BATCH] = batch_id
    tomb = name + TOMBSTONES
    if storage.exists(tomb):
        body = _drop_buried(storage, tomb, body, keys, seq)
    deletes = body.filter(body.column("__delete")).select([*keys, seq])
    if deletes.num_rows:
        _merge(storage, tomb, deletes, keys, seq, delete_flag=None, meta=meta)
    metrics = _merge(
        storage,
        name,
        body,
        keys,
        seq,
        delete_flag="__delete",
        meta=meta,
        keys_applied=["batch:" + batch_id] if batch_id else None,
    )
    inserted = int(metrics.get("num_target_rows_inserted", 0))
    updated = int(metrics.get("num_target_rows_updated", 0))
    deleted = int(metrics.get("num_target_rows_deleted", 0))
    return ChangesResult(
        table=name,
        version=storage.open(name).version(),
        inserted=inserted,
        updated=updated,
        deleted=deleted,
        ignored=feed.num_rows - inserted - updated - deleted,
    )


def _already_applied(storage: LakeStorage, name: str, batch_id: str | None) -> int | None:
    """The version that applied ``batch_id`` to ``name`` already, if one did."""
    if not batch_id:
        return None
    dt = storage.find(name)
    if dt is None or not storage.applied(dt, "batch:" + batch_id):
        return None
    return storage.batch_version(dt, batch_id)


def _drop_buried(
    storage: LakeStorage, tomb: str, body: pa.Table, keys: list[str], seq: str
) -> pa.Table:
    """Remove changes that are older than a delete already applied to their key."""
    con = query.connect({"silver.__tomb": storage.open(tomb)}, root=storage.root)
    try:
        con.register("__body", body)
        on = " AND ".join(f"b.{quote(k)} = x.{quote(k)}" for k in keys)
        out = con.sql(
            f"SELECT b.* FROM __body b LEFT JOIN silver.__tomb x ON {on} "
            f"WHERE x.{quote(seq)} IS NULL OR b.{quote(seq)} > x.{quote(seq)}"
        ).to_arrow_table()
    finally:
        con.close()
    return out.cast(body.schema)


class ChangesMixin(LakeBase):
    """``LakeService.apply_changes``."""

    def apply_changes(
        self,
        name: str,
        changes: Any,
        *,
        keys: list[str],
        sequence_by: str,
        operation_column: str = "op",
        delete_value: str = "DELETE",
        batch_id: str | None = None,
        owner: str | None = None,
    ) -> ChangesResult:
        """Apply a change feed (inserts, updates, deletes) to a table with a Delta MERGE.

        Args:
            name: the target table, e.g. ``silver.customers`` (created on first use).
            changes: the feed: Arrow, pandas, records, or the name of a lake table.
            keys: the primary key columns.
            sequence_by: orders changes; the highest wins, older ones are ignored.
            operation_column: holds ``delete_value`` for deletes (anything else upserts).
            batch_id: idempotency key: a feed whose key was already applied is a no-op
                (its result names the version that applied it).

        Returns:
            ChangesResult with the new version and inserted/updated/deleted/ignored counts.

        Raises:
            InvalidArgument: missing key/sequence/operation columns or a bad name.
        """
        parse_table_name(name)
        if not keys:
            raise InvalidArgument("apply_changes needs keys=", table=name)
        source_ref = None
        if isinstance(changes, str):
            feed = self.read(changes)
            source_ref = f"table:{changes}@{self.get_table(changes).version}"
        else:
            feed = writes.to_arrow(changes)
        team = self._team(name, owner)
        with self._audited("lake.apply_changes", team, f"table:{name}", batch_id=batch_id):
            result = apply(
                self.storage,
                name,
                feed,
                keys=keys,
                seq=sequence_by,
                op_column=operation_column,
                delete_value=delete_value,
                principal=self.principal.name,
                batch_id=batch_id,
            )
        with self._recording("lake.apply_changes", team=team, asset=f"table:{name}") as m:
            asset = self._record(
                m.conn, name, team, properties={"cdc": {"keys": keys, "sequence_by": sequence_by}}
            )
            if source_ref:
                self._edges(m.conn, asset, [source_ref], "apply_changes", result.version)
            m.asset = f"table:{name}@{result.version}"
            m.details = result.model_dump(exclude={"table"})
        return result
