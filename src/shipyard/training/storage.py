"""Where studies live: Optuna's RDB storage in the catalog's own database (ADR 0045).

Optuna's tables (``studies``, ``trials``, ... and its Alembic stamp in
``alembic_version``) sit beside the catalog's tables: the same SQLite file, or the
same PostgreSQL database and schema (an environment's schema included). The catalog
records its own revisions in ``shipyard_alembic_version``, so the two Alembic stamps
never meet. Every process that opens the project reaches the same studies.

Studies written before ADR 0045 lived in ``optuna.db`` beside an SQLite catalog, or in
schema ``optuna`` of a PostgreSQL one; the first process that opens the storage moves
them in (``adopt_legacy``).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    import sqlalchemy as sa

    from shipyard.config import Settings

log = logging.getLogger(__name__)

#: Seconds between a running trial's heartbeats; a trial silent for GRACE is failed.
HEARTBEAT = 5
GRACE = 20
#: Where an SQLite project kept its studies before ADR 0045 (beside ``catalog.db``).
LEGACY_SQLITE = "optuna.db"
#: The PostgreSQL schema that held the studies before ADR 0045.
LEGACY_SCHEMA = "optuna"
#: What an adopted ``optuna.db`` is renamed to (kept as a backup).
ADOPTED_SUFFIX = ".adopted-into-catalog"
#: ``pg_advisory_xact_lock`` key serialising the adoption of schema ``optuna``.
_ADOPT_LOCK = 0x5348_4950_5944_0046
#: Seconds a SQLite writer waits for the catalog's lock (Optuna's and the catalog's
#: transactions now share one file).
BUSY_TIMEOUT = 60
#: The storages ``_storage`` made, for ``dispose_all``.
_opened: list[optuna.storages.RDBStorage] = []


def storage_url(settings: Settings) -> str:
    """The catalog's SQLAlchemy URL, as Optuna's engine takes it (psycopg 3 on PostgreSQL)."""
    from shipyard._internal.db import _normalise_url

    return _normalise_url(settings.catalog_url)


def storage(settings: Settings, *, heartbeat: bool = True) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage for this project (one per process, URL and heartbeat mode)."""
    url = storage_url(settings)
    legacy = None
    if url.startswith("sqlite"):
        legacy = str(settings.home_dir / LEGACY_SQLITE)
    elif settings.environment is None:
        legacy = LEGACY_SCHEMA  # one schema shared by every environment: only the default's
    return _storage(url, heartbeat, legacy)


def dispose_all() -> None:
    """Close every storage this process opened (the next ``storage`` call opens anew)."""
    for store in _opened:
        store.engine.dispose()
    _opened.clear()
    _storage.cache_clear()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


@lru_cache(maxsize=8)
def _storage(url: str, heartbeat: bool, legacy: str | None) -> optuna.storages.RDBStorage:
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    from sqlalchemy.exc import SQLAlchemyError

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if legacy:
        adopt_legacy(url, legacy)
    sqlite = url.startswith("sqlite")
    engine: dict[str, Any] = (
        {"connect_args": {"timeout": BUSY_TIMEOUT, "check_same_thread": False}}
        if sqlite
        else {"pool_pre_ping": True}
    )
    for attempt in range(3):
        try:
            with quiet():  # heartbeats are "experimental" in Optuna since 2.9
                beat: dict[str, Any] = {}
                if heartbeat:  # Ray Tune's searcher asks and tells; Ray watches its trials
                    beat = {
                        "heartbeat_interval": HEARTBEAT,
                        "grace_period": GRACE,
                        "heartbeat_stale_trial_callback": RetryHeartbeatStaleTrialCallback(
                            max_retry=1
                        ),
                    }
                store = RDBStorage(url, engine_kwargs=engine, **beat)
            break
        except SQLAlchemyError:  # two processes creating Optuna's tables at once
            if attempt == 2:
                raise
            log.debug("Optuna's tables were being created by another process; again")
            time.sleep(0.1 * (attempt + 1))
    if sqlite:
        _sqlite_like_the_catalog(store.engine)
    _opened.append(store)
    return store


def _sqlite_like_the_catalog(engine: sa.Engine) -> None:
    """Optuna's SQLite connections in WAL mode with ``synchronous=NORMAL``, like the
    catalog's: Optuna commits several times per trial, and a rollback-journal commit
    costs an fsync (most of a tracked search's overhead, ADR 0029). Its transactions
    stay pysqlite's (``BEGIN`` at the first write, so a writer never upgrades a read
    snapshot and waits out the busy timeout instead of failing); making every one
    ``BEGIN IMMEDIATE`` serialised Optuna's frequent reads behind the catalog's writers
    in the shared file and cost a third of the tracked search's throughput (ADR 0045)."""
    import sqlalchemy as sa

    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT * 1000}")
        cur.close()

    sa.event.listen(engine, "connect", pragmas)
    engine.dispose()  # connections opened by Optuna's set-up get the pragmas too


def adopt_legacy(url: str, legacy: str) -> bool:
    """Move studies kept where ADR 0021 put them into the catalog's database, once.

    SQLite: the tables of ``optuna.db`` (``legacy``) are created in the catalog file
    from their own DDL and their rows copied, in one ``BEGIN IMMEDIATE`` transaction,
    then the file is renamed ``optuna.db.adopted-into-catalog``. PostgreSQL: the
    tables of schema ``optuna`` move into the catalog's schema (``ALTER TABLE ... SET
    SCHEMA``, their sequences with them) under an advisory lock. Nothing happens when
    the catalog already holds studies, when there is nothing to adopt, or when a table
    of the same name is in the way (logged). Returns whether anything moved.
    """
    try:
        if url.startswith("sqlite"):
            return _adopt_sqlite(Path(url.split(":///", 1)[1]), Path(legacy))
        return _adopt_schema(url, legacy)
    except Exception:  # never stop a search for want of the old studies
        log.warning("could not move the studies of %s into the catalog", legacy, exc_info=True)
        return False


def _sqlite_tables(con: sqlite3.Connection, schema: str) -> set[str]:
    rows = con.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")
    return {r[0] for r in rows}


def _adopt_sqlite(catalog: Path, legacy: Path) -> bool:
    if not legacy.exists():
        return False
    con = sqlite3.connect(catalog, timeout=BUSY_TIMEOUT, isolation_level=None)
    try:
        if "studies" in _sqlite_tables(con, "main"):
            return False  # adopted already (or studies made here): optuna.db is not read
        con.execute("ATTACH DATABASE ? AS legacy", (str(legacy),))
        con.execute("BEGIN IMMEDIATE")
        try:
            moved = _copy_sqlite(con, legacy)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        if moved:
            con.execute("PRAGMA legacy.wal_checkpoint(TRUNCATE)")
        con.execute("DETACH DATABASE legacy")
    finally:
        con.close()
    if moved:
        legacy.rename(legacy.with_name(legacy.name + ADOPTED_SUFFIX))
        log.warning("studies of %s moved into the catalog %s", legacy, catalog)
    return moved


def _copy_sqlite(con: sqlite3.Connection, legacy: Path) -> bool:
    """Under the caller's write lock: re-check, then create and fill Optuna's tables."""
    main, old = _sqlite_tables(con, "main"), _sqlite_tables(con, "legacy")
    if "studies" in main or "studies" not in old:
        return False
    clash = (old - {"sqlite_sequence"}) & main
    if clash:
        log.warning("not moving %s into the catalog: it has tables %s", legacy, sorted(clash))
        return False
    objects = con.execute(
        "SELECT type, name, sql FROM legacy.sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid"
    ).fetchall()
    for _kind, _name, sql in objects:
        con.execute(sql)  # unqualified DDL creates in main
    for kind, name, _sql in objects:
        if kind == "table":
            con.execute(f'INSERT INTO main."{name}" SELECT * FROM legacy."{name}"')
    return True


def _adopt_schema(url: str, legacy: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            old = _pg_tables(conn, legacy)
            if "studies" not in old:
                return False
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADOPT_LOCK})
            target = conn.execute(sa.text("SELECT current_schema()")).scalar()
            if target is None or target == legacy:
                return False
            here = _pg_tables(conn, target)
            old = _pg_tables(conn, legacy)  # again, under the lock
            if "studies" in here or "studies" not in old:
                return False
            if old & here:
                log.warning(
                    "not moving schema %s into %s: it has tables %s", legacy, target, old & here
                )
                return False
            for name in sorted(old):
                conn.execute(sa.text(f'ALTER TABLE "{legacy}"."{name}" SET SCHEMA "{target}"'))
        log.warning("studies of schema %s moved into the catalog's schema %s", legacy, target)
        return True
    finally:
        engine.dispose()


def _pg_tables(conn: sa.Connection, schema: str) -> set[str]:
    import sqlalchemy as sa

    rows = conn.execute(
        sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
    )
    return {r[0] for r in rows}
