"""The inference worker process (see ``worker.py``): load one model, answer calls.

``python -m shipyard.serving._worker_main <fd> <parent pid> <memory MB>``. Imports
nothing of the platform's catalog or settings: it needs only the model's folder.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.serving.worker import (
    Channel,
    decode_call,
    encode_array,
    encode_reply,
    error_reply,
)


def _die_with_parent(parent: int, every: float = 0.5) -> None:
    """Exit as soon as the parent process is gone (its socket's end covers idle workers;
    this covers one busy in model code). Not ``PR_SET_PDEATHSIG``: that follows the
    parent *thread*, and the server starts workers from short-lived pool threads."""

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(70)
            time.sleep(every)

    if os.getppid() != parent:
        os._exit(70)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _limit(memory_mb: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _load(path: str, uri: str) -> tuple[Any, Any, dict[str, Any]]:
    from shipyard.serving.fastpath import fast_scorer
    from shipyard.serving.runtime import expected_columns
    from shipyard.tracking.packaging.loaded import load_model_dir

    model = load_model_dir(Path(path), uri=uri)
    fast = fast_scorer(model)
    meta = {
        "ok": True,
        "input_columns": expected_columns(model),
        "fast_columns": fast[1] if fast else None,
        "pid": os.getpid(),
    }
    return model, (fast[0] if fast else None), meta


def serve(conn: Channel) -> None:

    model: Any = None
    fast: Any = None
    while True:
        try:
            op, *args = decode_call(conn.recv(limit=1 << 62))  # from our parent only
        except EOFError:
            return
        try:
            if op == "load":
                model, fast, meta = _load(*args)
                reply = encode_reply(meta)
            elif op == "fast" and fast is not None:
                reply = encode_array(fast(args[0]))
            elif op == "fast_batch" and fast is not None:
                reply = _batch(fast, *args)
            elif op in ("predict", "fast") and model is not None:
                reply = encode_array(model.predict(args[0]))
            else:
                reply = encode_reply({"ok": False, "error": "InvalidArgument", "message": op})
        except Exception as exc:
            reply = error_reply(exc)
        conn.send(reply)


def _batch(fast: Any, matrix: np.ndarray, counts: list[int]) -> bytes:
    """Several requests' rows stacked in one matrix (see ``coalesce.py``).

    One call scores them all. If it raises (one request's bad row fails the whole
    matrix) or answers with another number of rows, each request is scored alone, so
    an error is that request's only: the reply is then one sub-reply per request.
    """
    try:
        out = np.asarray(fast(matrix))
    except Exception:
        pass
    else:
        if out.ndim and out.shape[0] == matrix.shape[0]:
            return encode_array(out)
    parts: list[bytes] = []
    start = 0
    for n in counts:
        try:
            parts.append(encode_array(fast(matrix[start : start + n])))
        except Exception as exc:
            parts.append(error_reply(exc))
        start += n
    return encode_reply({"ok": True, "parts": [len(b) for b in parts]}, b"".join(parts))


def main() -> None:
    fd, parent, memory_mb = (int(a) for a in sys.argv[1:4])
    _die_with_parent(parent)
    _limit(memory_mb)
    from shipyard._internal.threads import limit_native_threads

    limit_native_threads()  # as in the server: one native thread per call (see threads.py)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal: the parent decides
    serve(Channel(socket.socket(fileno=fd)))


if __name__ == "__main__":
    main()
