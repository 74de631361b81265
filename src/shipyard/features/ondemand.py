"""On-demand feature views: one Python function, run the same way offline and online.

The function's source is stored in the catalog with the definition, so a reader
in another process (the API server) runs the code that was applied, not what a
module happens to hold today.
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import pandas as pd

from shipyard.errors import InvalidArgument

#: Functions applied from this process, by (module, qualname, source): they load
#: even when their source cannot be read back (a REPL) or their module re-imported.
_APPLIED: dict[tuple[Any, Any, Any], Callable[..., Any]] = {}


def function_spec(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        source = None
    _APPLIED[(getattr(fn, "__module__", None), getattr(fn, "__qualname__", None), source)] = fn
    return {
        "module": getattr(fn, "__module__", None),
        "qualname": getattr(fn, "__qualname__", None),
        "name": getattr(fn, "__name__", None),
        "source": source,
    }


def load_function(spec: dict[str, Any]) -> Callable[..., Any]:
    """The applied function: the importable one if its source is unchanged, else the source."""
    module, qualname, source = spec.get("module"), spec.get("qualname"), spec.get("source")
    known = _APPLIED.get((module, qualname, source))
    if known is not None:
        return known
    if module and qualname and "<locals>" not in qualname and module != "__main__":
        try:
            fn: Any = importlib.import_module(module)
            for part in qualname.split("."):
                fn = getattr(fn, part)
            if source is None or textwrap.dedent(inspect.getsource(fn)) == source:
                return fn
        except (ImportError, AttributeError, OSError, TypeError):
            pass
    if not source:
        raise InvalidArgument(f"on-demand function {qualname!r} has no stored source to load")
    namespace: dict[str, Any] = {"pd": pd, "pandas": pd}
    try:
        import numpy as np

        namespace.update(np=np, numpy=np)
        exec(compile(source, f"<on-demand {qualname}>", "exec"), namespace)
    except Exception as exc:
        raise InvalidArgument(f"on-demand function {qualname!r} does not load: {exc}") from None
    return namespace[spec["name"]]


def run(
    function: Callable[..., Any], inputs: pd.DataFrame, outputs: list[str], name: str
) -> pd.DataFrame:
    """Call ``function`` on ``inputs``; check it returned every declared output, row for row."""
    try:
        result = function(inputs)
    except Exception as exc:
        raise InvalidArgument(f"on-demand feature view '{name}' failed: {exc!r}") from None
    if not isinstance(result, pd.DataFrame):
        raise InvalidArgument(f"on-demand feature view '{name}' must return a DataFrame")
    missing = [c for c in outputs if c not in result.columns]
    if missing:
        raise InvalidArgument(
            f"on-demand feature view '{name}' did not return {', '.join(missing)}"
        )
    if len(result) != len(inputs):
        raise InvalidArgument(
            f"on-demand feature view '{name}' returned {len(result)} rows for {len(inputs)}"
        )
    return result[outputs].reset_index(drop=True)
