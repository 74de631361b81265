"""Progress of long work (ingest, refresh, scoring, materialization) for whoever shows it.

Services take ``on_progress(done, total)`` (``total`` is ``None`` when unknown) and wrap
their work in ``reporting``; the loops deep inside call ``report``. Skins render it (the
CLI: a bar on a terminal, a line now and then when piped). A loop that may run on another
thread takes the callback with ``current()`` first: context variables do not cross threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

#: ``(done, total)``: units done so far, and the total when known.
OnProgress = Callable[[int, int | None], None]

_current: ContextVar[OnProgress | None] = ContextVar("shipyard_progress", default=None)


@contextlib.contextmanager
def reporting(on_progress: OnProgress | None) -> Iterator[None]:
    """Send ``report`` calls in this block (and this thread) to ``on_progress``."""
    token = _current.set(on_progress)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> OnProgress | None:
    """The callback of the enclosing ``reporting`` block, if any."""
    return _current.get()


def report(done: int, total: int | None = None) -> None:
    callback = _current.get()
    if callback is not None:
        callback(done, total)
