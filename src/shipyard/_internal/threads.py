"""Native thread pools (OpenMP, BLAS) in serving processes."""

from __future__ import annotations

import contextlib
import os
from typing import Any

_limiter: Any = None
_POOL_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_native_threads() -> None:
    """One native thread per model call in a server process.

    A request scores a few rows: spreading them over OpenMP threads costs more
    than it saves, and on a busy machine one slow thread turns a 1 ms
    prediction into a 1 s tail (HistGradientBoosting, one row, 2 loaded cores:
    p99 1.86 s with the default pool, 9 ms with one thread). Concurrency comes
    from serving requests side by side, not from splitting one.

    The environment covers libraries loaded later (a model's own runtime);
    threadpoolctl covers those already loaded. scikit-learn's OpenMP runtime is
    loaded first only when the user set a pool size of their own (the import
    costs seconds of server start and ~70 MB).
    """
    global _limiter
    if _limiter is not None:
        return
    for name in _POOL_VARIABLES:
        os.environ.setdefault(name, "1")
    if any(os.environ[name] != "1" for name in _POOL_VARIABLES):
        # a pool size set by the user: only threadpoolctl can lower it, so the
        # runtime must be loaded first (importing scikit-learn costs seconds)
        with contextlib.suppress(ImportError):
            import sklearn.utils._openmp_helpers  # noqa: F401  (loads the OpenMP runtime)
    from threadpoolctl import threadpool_limits

    _limiter = threadpool_limits(limits=1)
