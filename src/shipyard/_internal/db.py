"""The metadata database: one SQLAlchemy Core implementation for SQLite and PostgreSQL.

Every capability declares its tables on ``metadata`` below and ships its schema
as an Alembic migration branch (see ``shipyard/catalog/migrations``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError

from shipyard.errors import AlreadyExists, BackendUnavailable, InvalidArgument, mask_url

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Timestamps are stored as timezone-aware UTC.
UtcDateTime = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

#: ``conn.info`` key of the callbacks ``Database.begin`` runs once the transaction committed.
_AFTER_COMMIT = "shipyard.after_commit"


def after_commit(conn: Connection, fn: Callable[[], None]) -> None:
    """Run ``fn`` once ``conn``'s transaction (a ``Database.begin``) has committed.

    Dropped if it rolls back. ``fn`` must not raise: the change is already committed.
    Only transactions begun by ``Database.begin``/``begin_nowait`` run them, so a caller
    must not depend on ``fn`` running (the event outbox's relay is its safety net).
    """
    conn.info.setdefault(_AFTER_COMMIT, []).append(fn)


@contextmanager
def _committed(conn: Connection) -> Iterator[None]:
    """Run the ``after_commit`` callbacks of the transaction this block commits."""
    try:
        yield
    finally:  # ``conn.info`` outlives the checkout: never leave callbacks behind
        hooks = conn.info.pop(_AFTER_COMMIT, None)
    for fn in hooks or ():
        fn()


def _normalise_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_engine(url: str, *, busy_timeout: float = 30.0, connect_timeout: float = 10.0) -> Engine:
    """An engine for SQLite (WAL, busy timeout, ``BEGIN IMMEDIATE`` writers) or PostgreSQL."""
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BackendUnavailable(
                    f"cannot create the folder of metadata database {url}: {exc.strerror}",
                    url=url,
                ) from None
        engine = sa.create_engine(
            url, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so that writers take the lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writers take the lock up front (no upgrade deadlocks); readers don't.
            conn.exec_driver_sql("BEGIN" if conn.info.get("read_only") else "BEGIN IMMEDIATE")

        return engine
    try:
        return sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            connect_args={"connect_timeout": max(1, int(connect_timeout))},
        )
    except ImportError as exc:
        raise BackendUnavailable(
            f"cannot use metadata database {mask_url(url)}: driver missing ({exc.name}); "
            "install the extra: pip install 'shipyard[postgres]'",
            url=mask_url(url),
        ) from None
    except SQLAlchemyError as exc:
        raise BackendUnavailable(
            f"cannot use metadata database {mask_url(url)}: {_first_line(exc)}",
            url=mask_url(url),
        ) from None


class Database:
    """An engine plus the transaction helper every store uses."""

    def __init__(
        self, url: str, *, busy_timeout: float = 30.0, connect_timeout: float = 10.0
    ) -> None:
        self.url = _normalise_url(url)
        #: The URL as the user wrote it, password hidden: safe for messages and logs.
        self.masked_url = mask_url(url)
        self._password = _password(url)
        self._busy_ms = int(busy_timeout * 1000)
        self.engine = create_engine(
            self.url, busy_timeout=busy_timeout, connect_timeout=connect_timeout
        )

    def unavailable(self, exc: BaseException) -> BackendUnavailable:
        """The error for a database that cannot be reached (URL and message scrubbed)."""
        detail = _first_line(getattr(exc, "orig", None) or exc)
        if self._password:
            detail = detail.replace(self._password, "***")
        return BackendUnavailable(
            f"metadata database {self.masked_url} is unavailable: {detail}", url=self.masked_url
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_schema(self, schema: str) -> None:
        """Create a PostgreSQL schema if missing (an environment's catalog, ADR 0028)."""
        if self.dialect != "postgresql":
            return
        with self.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; driver errors become Shipyard errors."""
        try:
            with self.engine.connect() as conn, _committed(conn), conn.begin():
                yield conn
        except IntegrityError as exc:
            raise AlreadyExists(f"already exists: {_integrity_detail(exc)}") from None
        except DataError as exc:  # a value the column cannot hold (too long, out of range)
            raise InvalidArgument(f"invalid value: {_integrity_detail(exc)}") from None
        except OperationalError as exc:
            if is_connection_error(exc):
                raise self.unavailable(exc) from None
            raise

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read-only unit of work (no explicit transaction on SQLite)."""
        try:
            with self.engine.connect() as conn:
                conn.info["read_only"] = True
                try:
                    yield conn
                finally:
                    conn.info.pop("read_only", None)
        except OperationalError as exc:
            if is_connection_error(exc):
                raise self.unavailable(exc) from None
            raise

    @contextmanager
    def begin_nowait(self, timeout: float = 0.1) -> Iterator[Connection]:
        """A write transaction that gives up after ``timeout`` seconds instead of
        queueing behind another writer (for bookkeeping that must never stall a request).

        Raises:
            BackendUnavailable: the lock was not free in time.
        """
        try:
            with self.engine.connect() as conn, _committed(conn):
                if self.dialect == "sqlite":
                    raw: Any = conn.connection.driver_connection
                    raw.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
                    try:
                        with conn.begin():
                            yield conn
                    finally:
                        raw.execute(f"PRAGMA busy_timeout={self._busy_ms}")
                else:
                    with conn.begin():
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'")
                        yield conn
        except IntegrityError as exc:
            raise AlreadyExists(f"already exists: {_integrity_detail(exc)}") from None
        except DataError as exc:
            raise InvalidArgument(f"invalid value: {_integrity_detail(exc)}") from None
        except OperationalError as exc:
            raise self.unavailable(exc) from None

    def dispose(self) -> None:
        self.engine.dispose()


def _integrity_detail(exc: IntegrityError | DataError) -> str:
    return str(exc.orig).splitlines()[0] if exc.orig else "constraint violated"


def is_connection_error(exc: BaseException) -> bool:
    """Whether a driver error means "cannot reach the database" (not a bad statement)."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(
        s in text
        for s in (
            "connection",
            "could not connect",
            "unable to open",
            "server closed",
            "timeout",
            "refused",
            "could not translate host",
            "name or service not known",
            "database is locked",
        )
    )


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _password(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:
        return None
