"""Enum values from callers: an unknown one is InvalidArgument naming the choices."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from shipyard.errors import InvalidArgument

E = TypeVar("E", bound=Enum)


def parse_enum(kind: type[E], value: object, param: str) -> E:
    """``kind(value)``, or InvalidArgument listing the accepted values."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        raise InvalidArgument(
            f"'{param}' must be one of: {choices}", param=param, value=str(value)[:100]
        ) from None
