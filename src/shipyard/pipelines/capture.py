"""Capture one in-process job's output, and only its own.

An in-process job runs on a worker thread beside others: the server's request
threads (``shipyard serve``), the demo printing its progress, other worker threads.
``contextlib.redirect_stdout`` swaps ``sys.stdout`` for the whole process, so what
those threads printed meanwhile went into the job's logs (and vanished from the
terminal). Here ``sys.stdout``/``sys.stderr`` are routed per thread: a thread that
runs a job writes to its job's buffer, every other thread to the stream that was
there. The logging handler likewise keeps only the job thread's records.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any

_LOCAL = threading.local()
_INSTALL = threading.Lock()


class _Routed:
    """Stands for a standard stream: writes of a capturing thread go to its buffer."""

    def __init__(self, default: IO[str]) -> None:
        self._default = default

    def _target(self) -> IO[str]:
        buf: IO[str] | None = getattr(_LOCAL, "buf", None)
        return buf if buf is not None else self._default

    def write(self, text: str) -> int:
        return self._target().write(text)

    def writelines(self, lines: Any) -> None:
        self._target().writelines(lines)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...
        return getattr(self._default, name)


def _route(name: str) -> None:
    current = getattr(sys, name)
    if not isinstance(current, _Routed):
        setattr(sys, name, _Routed(current))


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


@contextlib.contextmanager
def captured(buf: IO[str]) -> Iterator[None]:
    """This thread's stdout, stderr and ``logging`` records go to ``buf`` meanwhile."""
    with _INSTALL:  # once; it stays, passing other threads' writes through
        _route("stdout")
        _route("stderr")
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_ThisThread())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = getattr(_LOCAL, "buf", None)
    _LOCAL.buf = buf
    try:
        yield
    finally:
        _LOCAL.buf = previous
        root.removeHandler(handler)
