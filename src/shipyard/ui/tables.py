"""Arrow results as HTML-ready rows, and the read-only queries the data pages page through.

Queries are built with sqlglot from parsed parts (a table name, a filter expression,
the user's statement as a subquery), so a filter cannot change the query's shape; the
lake's SQL sandbox then checks and runs them as the signed-in user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from shipyard.errors import InvalidArgument

PAGE_ROWS = 50
MAX_CELL = 200  # characters shown of one value


@dataclass(frozen=True)
class Grid:
    """One page of a result: column names, rows of display strings, and paging offsets."""

    columns: list[str]
    rows: list[list[str]]
    offset: int
    more: bool

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.rows)

    @property
    def prev_offset(self) -> int | None:
        return max(0, self.offset - PAGE_ROWS) if self.offset else None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def grid(table: pa.Table, offset: int, size: int = PAGE_ROWS) -> Grid:
    """``table`` holds up to ``size + 1`` rows: the extra one only says a next page exists."""
    shown = table.slice(0, size)
    columns = shown.column_names
    data = [shown.column(i).to_pylist() for i in range(len(columns))]
    rows = [[_cell(col[r]) for col in data] for r in range(shown.num_rows)]
    return Grid(columns=columns, rows=rows, offset=offset, more=table.num_rows > size)


def _parse(text: str, what: str) -> exp.Expr:
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except SqlglotError as exc:  # a parse or tokenizer error
        raise InvalidArgument(f"the {what} is not valid SQL: {str(exc).splitlines()[0]}") from None
    if tree is None:
        raise InvalidArgument(f"the {what} is empty")
    return tree


def table_page(name: str, *, where: str | None, offset: int, size: int = PAGE_ROWS) -> str:
    """``SELECT * FROM name [WHERE where] LIMIT size+1 OFFSET offset``."""
    q = exp.select("*").from_(exp.to_table(name))
    if where:
        q = q.where(_parse(where, "filter"))
    return q.limit(size + 1).offset(offset).sql(dialect="duckdb")


def statement_page(statement: str, *, offset: int, size: int = PAGE_ROWS) -> str:
    """The user's query as a subquery, one page of it (order it to page stably)."""
    inner = _parse(statement.strip().rstrip(";"), "query")
    if not isinstance(inner, exp.Query):
        raise InvalidArgument("only a SELECT or WITH query can run here")
    q = exp.select("*").from_(inner.subquery("q"))
    return q.limit(size + 1).offset(offset).sql(dialect="duckdb")
