"""A runtime built once per platform, on first use, and closed with the platform."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Shared(Generic[T]):
    """One ``T`` per platform (every principal's view shares it), built when first asked for.

    ``Platform`` builds these cells; a service receives the cell (not the thing) so
    that opening a project never connects to a backend the caller does not use.
    """

    __slots__ = ("_build", "_close", "_lock", "_value")

    def __init__(self, build: Callable[[], T], close: Callable[[T], None] | None = None) -> None:
        self._build = build
        self._close = close
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._build()
        return value

    @property
    def built(self) -> bool:
        return self._value is not None

    def close(self) -> None:
        with self._lock:
            value, self._value = self._value, None
        if value is not None and self._close is not None:
            self._close(value)
