"""The audit log's hash chain: each row commits to the row before it.

``row_hash = sha256(prev_hash || canonical JSON of the row's fields)``, where the
fields are ``ts, principal, action, asset, team, outcome, details`` (not the id:
order is carried by the links). The first row links to ``GENESIS``. Rows that
existed before the chain was introduced were hashed in id order by migration
``core_0002``, so the chain covers the whole log.

What it proves: a row edited, deleted, inserted or moved by someone who does not
recompute every later hash shows as a broken link or a hash that does not match
the row. The hash carries no secret, so someone with write access to the database
who rewrites the chain from the edit onwards, or truncates its tail, is caught
only by comparing the head (``verify`` returns it) with a copy kept elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import as_utc
from shipyard.governance.models import ChainProblem, ChainReport
from shipyard.governance.tables import audit_log

GENESIS = "0" * 64
#: Key of the PostgreSQL transaction-level advisory lock writers take before reading the tail.
PG_LOCK_KEY = 0x5348_4950_4155_4454  # "SHIPAUDT"
_PAGE = 5000


def _plain(value: Any) -> Any:
    """Values as both databases give them back (JSONB turns 2.0 into 2)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical(
    *,
    ts: datetime,
    principal: str,
    action: str,
    asset: str | None,
    team: str | None,
    outcome: str,
    details: dict[str, Any] | None,
) -> bytes:
    fields = {
        "ts": as_utc(ts).isoformat(timespec="microseconds"),
        "principal": principal,
        "action": action,
        "asset": asset,
        "team": team,
        "outcome": outcome,
        "details": _plain(details or {}),
    }
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def row_hash(prev_hash: str, **fields: Any) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(**fields)).hexdigest()


def _fields(row: Any) -> dict[str, Any]:
    return {
        "ts": row.ts,
        "principal": row.principal,
        "action": row.action,
        "asset": row.asset,
        "team": row.team,
        "outcome": row.outcome,
        "details": row.details,
    }


def lock_tail(conn: Connection) -> None:
    """Serialise appenders: two transactions must never link to the same previous row.

    SQLite writers already hold the database's one write lock (``BEGIN IMMEDIATE``);
    on PostgreSQL a transaction-level advisory lock does it until commit.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})


def tail_hash(conn: Connection) -> str:
    last = conn.execute(
        sa.select(audit_log.c.row_hash).order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    return last[0] if last is not None and last[0] else GENESIS


def _rows(conn: Connection) -> Iterator[Any]:
    after: int | None = None
    while True:
        q = sa.select(audit_log).order_by(audit_log.c.id).limit(_PAGE)
        if after is not None:
            q = q.where(audit_log.c.id > after)
        page = conn.execute(q).all()
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].id


def verify(conn: Connection) -> ChainReport:
    """Walk the chain in id order; stop at the first row that does not hold."""
    prev: Any = None
    checked = 0
    for row in _rows(conn):
        problem = _check(conn, row, prev)
        if problem is not None:
            return ChainReport(
                ok=False,
                rows_checked=checked,
                head_id=prev.id if prev is not None else None,
                head_hash=prev.row_hash if prev is not None else None,
                problem=problem,
            )
        checked += 1
        prev = row
    return ChainReport(
        ok=True,
        rows_checked=checked,
        head_id=prev.id if prev is not None else None,
        head_hash=prev.row_hash if prev is not None else GENESIS,
    )


def _check(conn: Connection, row: Any, prev: Any) -> ChainProblem | None:
    if not row.row_hash or not row.prev_hash:
        return ChainProblem(
            id=row.id, kind="inserted", message=f"row {row.id} has no hash: written around the log"
        )
    if row_hash(row.prev_hash, **_fields(row)) != row.row_hash:
        return ChainProblem(
            id=row.id,
            kind="edited",
            message=f"row {row.id} does not match its hash: its content was changed",
        )
    expected = prev.row_hash if prev is not None else GENESIS
    if row.prev_hash == expected:
        return None
    return _link_problem(conn, row, prev)


def _link_problem(conn: Connection, row: Any, prev: Any) -> ChainProblem:
    """Name what most likely happened when ``row`` does not link to ``prev``."""
    expected = prev.row_hash if prev is not None else GENESIS
    later = conn.execute(
        sa.select(audit_log.c.id)
        .where(audit_log.c.id > row.id, audit_log.c.row_hash == row.prev_hash)
        .limit(1)
    ).first()
    if later is not None:
        return ChainProblem(
            id=row.id,
            kind="reordered",
            message=f"row {row.id} links to row {later[0]}, which comes after it: "
            "rows were reordered",
        )
    after = conn.execute(
        sa.select(audit_log.c.prev_hash)
        .where(audit_log.c.id > row.id)
        .order_by(audit_log.c.id)
        .limit(1)
    ).first()
    if (after is not None and after[0] == expected) or (
        prev is not None and row.prev_hash == prev.prev_hash
    ):
        # The chain holds without one row: that row was slipped in.
        extra = row.id if after is not None and after[0] == expected else prev.id
        return ChainProblem(
            id=extra, kind="inserted", message=f"row {extra} was inserted into the chain"
        )
    where = f"between rows {prev.id} and {row.id}" if prev is not None else f"before row {row.id}"
    return ChainProblem(
        id=row.id,
        kind="deleted",
        message=f"row(s) {where} were deleted: row {row.id} links to a row that is gone",
    )


def hash_existing(rows: Iterable[Any]) -> Iterator[tuple[int, str, str]]:
    """(id, prev_hash, row_hash) for rows written before the chain existed, in id order."""
    prev = GENESIS
    for row in rows:
        digest = row_hash(prev, **_fields(row))
        yield row.id, prev, digest
        prev = digest
