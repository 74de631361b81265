"""Bounded integer types for route parameters and bodies: out-of-range input is a 422, never a 500.

SQLite and DuckDB bind 64-bit integers; a value past that overflows in the driver.
Every count, version, offset and timestamp the HTTP API takes uses one of these.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

#: Rows per page of a ``list_`` call (``limit``): the service lowers it to
#: ``paging.max_limit``; this bound only keeps it a 32-bit integer.
PageSize = Annotated[int, Interval(ge=1, le=2**31 - 1)]
#: A "how many" bound (history entries, refreshes, records).
Limit = Annotated[int, Interval(ge=1, le=100_000)]
#: A table, model or training-set version (Delta and registry versions start at 0 or 1).
Version = Annotated[int, Interval(ge=0, le=2**53)]
#: An offset into a log or a result.
Offset = Annotated[int, Interval(ge=0, le=2**62)]
#: Milliseconds since the epoch.
Millis = Annotated[int, Interval(ge=0, le=2**53)]
