"""Lake entities and value objects: table definitions, expectations, results. No I/O."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shipyard.errors import InvalidArgument

#: Files newer than this are never vacuumed (readers of recent versions need them).
MIN_RETENTION_HOURS = 168

#: The layers of the medallion lake (``datasets`` holds saved training sets and logs).
LAYERS = ("bronze", "silver", "gold", "datasets")
#: Tables the platform writes about itself: owned by every team (``*``), so only a
#: principal with a role on every team may write them, whoever creates them first.
PLATFORM_TABLES = frozenset({"datasets.usage"})
QUARANTINE_SUFFIX = "__quarantine"
# At most 128 characters: a table is a folder, and its quarantine twin adds a suffix.
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")

Action = Literal["warn", "quarantine", "fail"]
ExpectationKind = Literal[
    "not_null", "unique", "range", "accepted_values", "regex", "sql", "vector"
]
#: Bronze bookkeeping columns every ingested row carries.
BRONZE_COLUMNS = ("_ingested_at", "_source", "_batch_id")


def parse_table_name(name: str) -> tuple[str, str]:
    """Split ``<layer>.<name>`` (raises ``InvalidArgument`` with the rule when it is not)."""
    if not isinstance(name, str):
        raise InvalidArgument("a table name must be a string like 'bronze.orders'", name=name)
    layer, sep, rest = name.partition(".")
    if not sep or layer not in LAYERS or not _NAME.match(rest):
        raise InvalidArgument(
            f"table name '{name}' must be '<layer>.<name>' with layer one of "
            f"{', '.join(LAYERS)} and a lowercase name of letters, digits and '_' (at most 128)",
            name=name,
        )
    return layer, rest


def quarantine_name(table: str) -> str:
    return table if table.endswith(QUARANTINE_SUFFIX) else table + QUARANTINE_SUFFIX


class Expectation(BaseModel):
    """A rule every row of a table must meet, and what to do with rows that do not.

    Build them with the constructors: ``Expectation.not_null("customer_id")``,
    ``Expectation.range("amount", min=0, action="quarantine")``, ...
    Actions: ``warn`` (count only), ``quarantine`` (move the row to
    ``<table>__quarantine`` with the failed expectation names), ``fail`` (abort the
    refresh, nothing written).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    kind: ExpectationKind
    columns: list[str] = Field(default_factory=list)
    min: float | int | str | None = None
    max: float | int | str | None = None
    values: list[Any] | None = None
    pattern: str | None = None
    predicate: str | None = None
    action: Action = "warn"

    @classmethod
    def not_null(
        cls, column: str, *, action: Action = "warn", name: str | None = None
    ) -> Expectation:
        return cls(
            name=name or f"{column}_not_null", kind="not_null", columns=[column], action=action
        )

    @classmethod
    def unique(cls, *columns: str, action: Action = "warn", name: str | None = None) -> Expectation:
        if not columns:
            raise InvalidArgument("Expectation.unique needs at least one column")
        return cls(
            name=name or f"{'_'.join(columns)}_unique",
            kind="unique",
            columns=list(columns),
            action=action,
        )

    @classmethod
    def range(
        cls,
        column: str,
        *,
        min: float | int | str | None = None,
        max: float | int | str | None = None,
        action: Action = "warn",
        name: str | None = None,
    ) -> Expectation:
        if min is None and max is None:
            raise InvalidArgument("Expectation.range needs min, max or both", column=column)
        return cls(
            name=name or f"{column}_range",
            kind="range",
            columns=[column],
            min=min,
            max=max,
            action=action,
        )

    @classmethod
    def accepted_values(
        cls, column: str, values: list[Any], *, action: Action = "warn", name: str | None = None
    ) -> Expectation:
        if not values:
            raise InvalidArgument("Expectation.accepted_values needs values", column=column)
        return cls(
            name=name or f"{column}_accepted_values",
            kind="accepted_values",
            columns=[column],
            values=list(values),
            action=action,
        )

    @classmethod
    def regex(
        cls, column: str, pattern: str, *, action: Action = "warn", name: str | None = None
    ) -> Expectation:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InvalidArgument(f"invalid regex '{pattern}': {exc}", column=column) from None
        return cls(
            name=name or f"{column}_regex",
            kind="regex",
            columns=[column],
            pattern=pattern,
            action=action,
        )

    @classmethod
    def vector(
        cls, column: str, dimension: int, *, action: Action = "warn", name: str | None = None
    ) -> Expectation:
        """An embedding column: ``dimension`` values per row, none NaN or null (nulls pass)."""
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
            raise InvalidArgument("Expectation.vector needs a positive dimension", column=column)
        return cls(
            name=name or f"{column}_vector",
            kind="vector",
            columns=[column],
            min=dimension,
            action=action,
        )

    @classmethod
    def sql(cls, name: str, predicate: str, *, action: Action = "warn") -> Expectation:
        """Any SQL predicate a valid row satisfies (``amount < 10000 OR channel = 'store'``)."""
        return cls(name=name, kind="sql", predicate=predicate, action=action)


class ColumnDoc(BaseModel):
    """What a person wrote about a column: description and classification tags (``pii``)."""

    description: str = ""
    tags: list[str] = Field(default_factory=list)


class TableDefinition(BaseModel):
    """A curated table computed from other tables (bronze -> silver -> gold).

    Args:
        name: ``<layer>.<name>``.
        sql: a DuckDB SELECT over tables named ``<layer>.<name>``; or ``function``.
        function: ``f(con: duckdb.DuckDBPyConnection) -> pyarrow.Table | duckdb relation``,
            run with every source registered as a view (kept in-process, not persisted).
        source: the table read incrementally (default: the first table the SQL reads).
        expectations: rules applied to every row written.
        dedupe_on: keep one row per key (the latest ``_ingested_at`` when present).
        primary_key: rows are merged into the table by this key (update or insert).
        incremental: process only what changed upstream since the last refresh.
        schema_evolution: allow new columns to be added to the table.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    sql: str | None = None
    function: Callable[..., Any] | None = Field(default=None, exclude=True)
    source: str | None = None
    sources: list[str] | None = None
    expectations: list[Expectation] = Field(default_factory=list)
    dedupe_on: list[str] | None = None
    primary_key: list[str] | None = None
    incremental: bool = False
    schema_evolution: bool = False
    description: str = ""
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnDoc] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        parse_table_name(v)
        return v


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    tags: list[str] = Field(default_factory=list)


class TableInfo(BaseModel):
    """A lake table as the catalog knows it."""

    name: str
    layer: str
    version: int
    num_rows: int
    size_bytes: int
    num_files: int = 0
    columns: list[ColumnInfo] = Field(default_factory=list)
    owner: str = ""
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    location: str = ""
    defined: bool = False
    incremental: bool | None = None
    schema_evolution: bool = False
    primary_key: list[str] | None = None
    updated_at: datetime | None = None


class IngestResult(BaseModel):
    table: str
    version: int
    rows_written: int
    rows_quarantined: int
    batch_id: str
    skipped: bool = False
    files: list[str] = Field(default_factory=list)


class ExpectationResult(BaseModel):
    name: str
    passed: int
    failed: int
    action: Action


class RefreshResult(BaseModel):
    table: str
    version: int
    rows_written: int
    rows_quarantined: int
    expectations: list[ExpectationResult] = Field(default_factory=list)
    mode: Literal["full", "incremental", "noop"] = "full"
    source_versions: dict[str, int] = Field(default_factory=dict)


class HistoryEntry(BaseModel):
    version: int
    timestamp: datetime
    operation: str
    principal: str | None = None
    rows_added: int | None = None
    rows_removed: int | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class ChangesResult(BaseModel):
    table: str
    version: int
    inserted: int
    updated: int
    deleted: int
    ignored: int = 0


class MaintenanceResult(BaseModel):
    table: str
    version: int
    operation: str
    metrics: dict[str, Any] = Field(default_factory=dict)


class ColumnLineage(BaseModel):
    """Which upstream columns feed a column, through every defined table."""

    column: str
    edges: list[tuple[str, str]] = Field(default_factory=list)  # (column, fed by)
    roots: list[str] = Field(default_factory=list)  # the columns at the start (bronze)


def table(
    name: str,
    *,
    source: str | None = None,
    sources: list[str] | None = None,
    expectations: list[Expectation] | None = None,
    dedupe_on: list[str] | None = None,
    primary_key: list[str] | None = None,
    incremental: bool = False,
    schema_evolution: bool = False,
    description: str = "",
) -> Callable[[Callable[..., Any]], TableDefinition]:
    """Decorator: a function of a DuckDB connection becomes a ``TableDefinition``.

    The function receives a connection where every source is a view named
    ``<layer>.<name>`` and returns a ``pyarrow.Table`` or a DuckDB relation; it
    may also return a SQL string, which is then the definition::

        @table("silver.orders", source="bronze.orders", primary_key=["order_id"])
        def orders(con):
            return con.sql("SELECT * FROM bronze.orders WHERE amount >= 0")

        platform.lake.define(orders)
    """

    def wrap(fn: Callable[..., Any]) -> TableDefinition:
        fields: dict[str, Any] = {
            "name": name,
            "source": source,
            "sources": sources,
            "expectations": list(expectations or []),
            "dedupe_on": dedupe_on,
            "primary_key": primary_key,
            "incremental": incremental,
            "schema_evolution": schema_evolution,
            "description": description or fn.__doc__ or "",
        }
        if fn.__code__.co_argcount == 0:
            text = fn()
            if not isinstance(text, str):
                raise InvalidArgument(f"{fn.__name__}() without arguments must return SQL text")
            return TableDefinition(sql=text, **fields)
        return TableDefinition(function=fn, **fields)

    return wrap


class RecoveredWrite(BaseModel):
    """Lake commits the catalog had missed, now recorded (``lake.write.recovered``)."""

    table: str
    versions: list[int]
    action: str | None = None
    principal: str | None = None
    batch_id: str | None = None
