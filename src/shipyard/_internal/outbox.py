"""``Outbox``: the caller's open metadata transaction, handed across a seam opaquely.

A seam whose interface must not name a database driver (the event bus) takes an
``Outbox`` instead of a SQLAlchemy connection. A backend that keeps its data in
the metadata database (``SqlEventBus``) writes through it, so its rows commit or
roll back with the caller's change: a transactional outbox without a relay,
because the log is the outbox. Every other backend ignores it and says so by not
declaring the seam's ``catalog_tx`` capability.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


class Outbox:
    """An open metadata-DB transaction; only SQL backends look inside."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def connection(self) -> Connection:
        """The transaction's connection (for SQL backends of a seam, nobody else)."""
        return self._conn
