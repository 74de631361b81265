"""Pagination: ``list_`` methods return a ``Page`` with an opaque next-page token."""

from __future__ import annotations

import base64
from typing import Generic, TypeVar

from pydantic import BaseModel

from shipyard.errors import InvalidArgument

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = None


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_offset(token: str | None) -> int:
    if not token:
        return 0
    if not isinstance(token, str):
        raise InvalidArgument("a page token must be a string")
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
        kind, value = raw.split(":", 1)
        if kind != "o":
            raise ValueError(kind)
        offset = max(0, int(value))
        if offset > 2**62:
            raise ValueError(value)
        return offset
    except ValueError:
        raise InvalidArgument("invalid page token", page_token=token) from None


def page_of(rows: list[T], offset: int, limit: int) -> Page[T]:
    """``rows`` was fetched with ``limit + 1`` to learn whether more exist."""
    more = len(rows) > limit
    return Page(items=rows[:limit], next_page_token=encode_offset(offset + limit) if more else None)
