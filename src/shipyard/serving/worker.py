"""Inference workers: model code runs in its own process, never in the serving process.

Loading a model unpickles files an editor uploaded, so it can run any code. The
serving process (the API server or ``shipyard deployments serve``) holds the catalog
connection, its credentials and the audit log; it only routes, looks up features and
logs. Each model version it serves is loaded and scored by one worker process:

- started with ``subprocess`` (a fresh interpreter, never a fork: nothing of the
  parent's memory, connections or threads is inherited), with only the socket of its
  channel open, an environment reduced to an allow-list (no ``SHIPYARD_*``, no catalog
  URL), an empty temporary folder as working directory and home, optional resource
  limits (``serving.worker_memory_mb`` -> ``RLIMIT_AS``; no core files) and, when the
  server runs as root, an optional unprivileged user (``serving.worker_user``);
- told only the folder of the version's files, then sent input matrices/frames;
- answering with arrays in a plain format (a JSON header and raw numeric bytes):
  the serving process never unpickles anything a worker sends;
- killed with the runtime (``close``, and at interpreter exit); a worker also exits by
  itself when its parent process is gone (end of channel, and a watch on its parent pid); restarted on the next call after it died. A call whose worker dies
  or times out raises ``BackendUnavailable`` (503) for that request only.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import pickle
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipyard import errors
from shipyard.errors import BackendUnavailable, ShipyardError

log = logging.getLogger("shipyard.serving.worker")

#: Environment variables a worker keeps (everything else, ``SHIPYARD_*`` first, is dropped).
ENV_ALLOW = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
#: Largest answer a worker may send (bytes); a bigger one is a broken worker.
MAX_REPLY = 1 << 31
#: Array kinds a worker may answer with (numbers, booleans, fixed-width text; no objects).
SAFE_KINDS = frozenset("biufcUS?")
_ATTACH = threading.Lock()


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    memory_mb: int = 0
    start_timeout: float = 60.0
    call_timeout: float = 60.0
    user: str | None = None


# -- the wire: parent -> worker is pickle (the worker trusts its parent), ------------------
# -- worker -> parent is a JSON header plus raw bytes (the parent trusts no worker) ---------


class Channel:
    """Length-prefixed messages over a stream socket (a socketpair to the worker).

    Leaner than ``multiprocessing.connection`` (whose ``poll`` builds a selector per
    call): a timeout is the socket's own. ``try_recv`` reads without blocking (an event
    loop's reader, see ``coalesce.py``); bytes it read of an unfinished message wait in
    a buffer that ``recv`` reads first.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._rx = bytearray()
        self._timeout: float | None = -1.0  # unknown: the first call sets it

    def _set_timeout(self, timeout: float | None) -> None:
        if timeout != self._timeout:
            self.sock.settimeout(timeout)
            self._timeout = timeout

    def send(self, blob: bytes, timeout: float | None = None) -> None:
        self._set_timeout(timeout)
        head = struct.pack("<Q", len(blob))
        if len(blob) < 65536:
            self.sock.sendall(head + blob)
        else:
            self.sock.sendall(head)
            self.sock.sendall(blob)

    def recv(self, limit: int = MAX_REPLY, timeout: float | None = None) -> bytes:
        """The next message; ``EOFError`` when the other end closed, ``TimeoutError``."""
        self._set_timeout(timeout)
        if self._rx:  # the start of it was read by ``try_recv``
            while (found := self._pop(limit)) is None:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise EOFError("the channel closed")
                self._rx += chunk
            return found
        (n,) = struct.unpack("<Q", self._exactly(8))
        if n > limit:
            raise ValueError(f"a message of {n} bytes is over the limit")
        return self._exactly(n)

    def try_recv(self, limit: int = MAX_REPLY) -> bytes | None:
        """The next message if all of it has arrived, else ``None`` (never blocks)."""
        self._set_timeout(0.0)
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            if not chunk:
                raise EOFError("the channel closed")
            self._rx += chunk
            if len(chunk) < 1 << 16:
                break
        return self._pop(limit)

    def _pop(self, limit: int) -> bytes | None:
        rx = self._rx
        if len(rx) < 8:
            return None
        (n,) = struct.unpack_from("<Q", rx)
        if n > limit:
            raise ValueError(f"a message of {n} bytes is over the limit")
        if len(rx) < 8 + n:
            return None
        blob = bytes(rx[8 : 8 + n])
        del rx[: 8 + n]
        return blob

    def _exactly(self, n: int) -> bytes:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self.sock.recv_into(view[got:])
            if k == 0:
                raise EOFError("the channel closed")
            got += k
        return bytes(buf) if n < 65536 else buf  # type: ignore[return-value]

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


#: A call whose input is a float64 matrix: ``M``, op, rows, columns, request row counts
#: (``fast_batch``), then the matrix's bytes. Cheaper than pickling the array (~20 µs).
_MATRIX = struct.Struct("<cBIII")
_MATRIX_OPS = {"fast": 0, "fast_batch": 1}
_MATRIX_NAMES = {v: k for k, v in _MATRIX_OPS.items()}


def encode_call(op: str, payload: Any, counts: list[int] | None = None) -> bytes:
    """A call to a worker: matrices (the fast path) in raw bytes, anything else pickled."""
    if (
        op in _MATRIX_OPS
        and isinstance(payload, np.ndarray)
        and payload.dtype == np.float64
        and payload.ndim == 2
    ):
        counts = counts or []
        rows, cols = payload.shape
        head = _MATRIX.pack(b"M", _MATRIX_OPS[op], rows, cols, len(counts))
        return head + np.asarray(counts, dtype="<u4").tobytes() + payload.tobytes()
    args = (op, payload) if counts is None else (op, payload, counts)
    return pickle.dumps(args, protocol=5)


def decode_call(blob: bytes) -> tuple[Any, ...]:
    """``(op, *args)`` of a call (in the worker; pickles come from its parent only)."""
    if blob[:1] != b"M":
        found: tuple[Any, ...] = pickle.loads(blob)
        return found
    _, code, rows, cols, k = _MATRIX.unpack_from(blob)
    at = _MATRIX.size
    counts = np.frombuffer(blob, dtype="<u4", count=k, offset=at).tolist()
    at += 4 * k
    matrix = np.frombuffer(blob, dtype=np.float64, count=rows * cols, offset=at)
    op = _MATRIX_NAMES[code]
    return (
        (op, matrix.reshape(rows, cols), counts)
        if op == "fast_batch"
        else (op, matrix.reshape(rows, cols))
    )


def encode_reply(header: dict[str, Any], payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<I", len(head)) + head + payload


def decode_reply(blob: bytes) -> tuple[dict[str, Any], memoryview]:
    view = memoryview(blob)
    if len(view) < 4:
        raise ValueError("short reply")
    (n,) = struct.unpack_from("<I", view)
    header = json.loads(bytes(view[4 : 4 + n]))
    if not isinstance(header, dict):
        raise ValueError("reply header is not an object")
    return header, view[4 + n :]


def encode_array(raw: Any) -> bytes:
    """A model's output as a reply: numeric/text arrays as bytes, anything else as JSON."""
    if hasattr(raw, "to_numpy"):
        raw = raw.to_numpy()
    arr = np.asarray(raw)
    if arr.dtype.kind in SAFE_KINDS and arr.dtype.kind != "U":
        arr = np.ascontiguousarray(arr)
        return encode_reply(
            {"ok": True, "dtype": arr.dtype.str, "shape": list(arr.shape)}, arr.tobytes()
        )
    return encode_reply({"ok": True, "json": arr.tolist()})


def decode_array(header: dict[str, Any], payload: memoryview) -> np.ndarray:
    if "json" in header:
        return np.asarray(header["json"])
    dtype = np.dtype(str(header["dtype"]))
    if dtype.kind not in SAFE_KINDS or dtype.hasobject:
        raise ValueError(f"a worker answered with dtype {dtype}")
    shape = tuple(int(n) for n in header["shape"])
    return np.frombuffer(payload, dtype=dtype).reshape(shape)


def error_reply(exc: BaseException) -> bytes:
    """The reply for a model that raised: its exception type and message, as text."""
    message = getattr(exc, "message", None) or str(exc)
    return encode_reply({"ok": False, "error": type(exc).__name__, "message": message})


def _error_from(header: dict[str, Any]) -> Exception:
    kind, message = str(header.get("error", "Error")), str(header.get("message", ""))[:2000]
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, ShipyardError) and cls is not ShipyardError:
        return cls(message)
    return ModelError(kind, message)


class ModelError(RuntimeError):
    """The model raised inside its worker (its type and message, as text)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


# -- the parent side -------------------------------------------------------------------------


def _worker_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOW}
    here = str(Path(__file__).resolve().parents[2])  # the folder holding ``shipyard``
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    env["HOME"] = home
    env["TMPDIR"] = home
    return env


class ModelWorker:
    """One worker process serving one model version; calls are serialized."""

    def __init__(self, path: Path, uri: str, options: WorkerOptions) -> None:
        self.path = Path(path)
        self.uri = uri
        self.options = options
        self.meta: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Channel | None = None
        self._home: str | None = None
        self._lock = threading.Lock()
        self._closed = False
        #: The event-loop side (``coalesce.Coalescer``), once an async caller used this worker.
        self.coalescer: Any = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> dict[str, Any]:
        with self._lock:
            return self._ensure()

    def _ensure(self) -> dict[str, Any]:
        if self._closed:
            raise BackendUnavailable(f"the worker of {self.uri} is closed")
        if self._proc is not None and self._proc.poll() is None and self._conn is not None:
            return self.meta
        self._stop()
        ours, theirs = socket.socketpair()
        self._home = tempfile.mkdtemp(prefix="shipyard-worker-")
        cmd = [sys.executable, "-m", "shipyard.serving._worker_main", str(theirs.fileno())]
        cmd += [str(os.getpid()), str(self.options.memory_mb)]
        if self.options.user:
            os.chmod(self._home, 0o777)  # the unprivileged user's scratch
        try:
            self._proc = subprocess.Popen(  # our interpreter, our module
                cmd,
                pass_fds=(theirs.fileno(),),
                env=_worker_env(self._home),
                cwd=self._home,
                stdin=subprocess.DEVNULL,
                close_fds=True,
                user=self.options.user,
                group=_group_of(self.options.user),
            )
        except (OSError, KeyError) as exc:  # no such user, an interpreter it cannot run
            ours.close()
            self._stop()
            raise BackendUnavailable(
                f"cannot start the worker of {self.uri}: {type(exc).__name__}: {exc}",
                model=self.uri,
            ) from None
        finally:
            theirs.close()
        self._conn = Channel(ours)
        try:
            self.meta = self._roundtrip(
                pickle.dumps(("load", str(self.path), self.uri), protocol=5),
                self.options.start_timeout,
            )
        except BaseException:
            self._stop()
            raise
        return self.meta

    def call(self, op: str, payload: Any, timeout: float | None = None) -> np.ndarray:
        co = self.coalescer
        with self._lock:
            if co is not None and co.inflight is not None:
                co.settle()  # an event loop's call awaits its answer: take it off the channel
            self._ensure()
            header = self._roundtrip(encode_call(op, payload), timeout or self.options.call_timeout)
        if co is not None:
            co.kick_all()  # event-loop calls that queued while this thread held the worker
        return decode_array(header, header.pop("_payload"))

    def _roundtrip(self, msg: bytes, timeout: float) -> dict[str, Any]:
        conn = self._conn
        assert conn is not None
        try:
            conn.send(msg, timeout)
            blob = conn.recv(timeout=timeout)
            header, payload = decode_reply(blob)
        except TimeoutError:
            self._stop()
            raise BackendUnavailable(
                f"the worker of {self.uri} did not answer within {timeout:g} s; it restarts "
                "on the next call",
                model=self.uri,
            ) from None
        except (EOFError, OSError, ValueError) as exc:
            code = self._stop()
            raise BackendUnavailable(
                f"the worker of {self.uri} died ({_exit_text(code, exc)}); it restarts on "
                "the next call",
                model=self.uri,
            ) from None
        if not header.get("ok"):
            raise _error_from(header)
        header["_payload"] = payload
        return header

    def _stop(self) -> int | None:
        code = None
        if self._conn is not None:
            if self.coalescer is None or not self.coalescer.release(self._conn):
                with contextlib.suppress(OSError):
                    self._conn.close()
            self._conn = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._proc.wait(timeout=5)
            self._proc = None
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None
        return code

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self.coalescer is not None:
                self.coalescer.abort(BackendUnavailable(f"the worker of {self.uri} is closed"))
            self._stop()


def _group_of(user: str | None) -> int | None:
    if not user:
        return None
    import pwd

    return pwd.getpwnam(user).pw_gid


def _exit_text(code: int | None, exc: BaseException) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    if code is not None:
        return f"exit code {code}"
    return type(exc).__name__


class WorkerModel:
    """What the serving runtime holds for a model version: a handle on its worker.

    ``predict`` sends a frame; ``fast_scorer`` (the scikit-learn fast path, built inside
    the worker) sends a float64 matrix. Attributes the runtime reads (``input_columns``)
    come from the worker's answer to ``load``.
    """

    def __init__(self, worker: ModelWorker) -> None:
        self.worker = worker
        meta = worker.start()
        cols = meta.get("input_columns")
        self.input_columns: list[str] | None = [str(c) for c in cols] if cols else None
        fast = meta.get("fast_columns")
        self.fast_columns: list[str] | None = [str(c) for c in fast] if fast else None

    def predict(self, frame: Any, timeout: float | None = None) -> np.ndarray:
        return self.worker.call("predict", frame, timeout)

    async def apredict(self, frame: Any) -> np.ndarray:
        """``predict`` from an event loop: the loop serves other requests meanwhile."""
        return await self._coalescer().submit("predict", frame, len(frame))

    def fast_scorer(self) -> tuple[Any, list[str]] | None:
        if self.fast_columns is None:
            return None
        return WorkerScorer(self), self.fast_columns

    def _coalescer(self) -> Any:
        co = self.worker.coalescer
        if co is None:
            from shipyard.serving.coalesce import Coalescer

            with _ATTACH:
                co = self.worker.coalescer
                if co is None:
                    co = self.worker.coalescer = Coalescer(self.worker)
        return co


class WorkerScorer:
    """The scikit-learn fast path of a worker model: a float64 matrix in, scores out.

    Called, it blocks its thread for one worker call; ``submit`` (from an event loop)
    joins the matrix to the calls of other requests that arrive while the worker is busy.
    """

    def __init__(self, model: WorkerModel) -> None:
        self.model = model

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        return self.model.worker.call("fast", matrix)

    async def submit(self, matrix: np.ndarray) -> np.ndarray:
        co = self.model._coalescer()
        result: np.ndarray = await co.submit("fast", matrix, len(matrix))
        return result


class WorkerPool:
    """The workers of one serving process, one per model version folder."""

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self._models: dict[tuple[str, str], WorkerModel] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    def model(self, path: Path, uri: str) -> WorkerModel:
        key = (str(path), uri)
        found = self._models.get(key)
        if found is None:
            with self._lock:
                found = self._models.get(key)
                if found is None:
                    worker = ModelWorker(path, uri, self.options)
                    try:
                        found = WorkerModel(worker)
                    except BaseException:
                        worker.close()
                        raise
                    self._models[key] = found
        return found

    def pids(self) -> list[int]:
        return [p for m in self._models.values() if (p := m.worker.pid) is not None]

    def close(self) -> None:
        with self._lock:
            models, self._models = list(self._models.values()), {}
        for m in models:
            m.worker.close()
