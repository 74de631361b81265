"""Pinned requirements from the running environment, without any subprocess.

``importlib.metadata`` answers in microseconds; MLflow's default resolver
starts a subprocess and spends seconds. We pin what the flavor needs plus the
packages the model object's modules come from.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from importlib import metadata

#: Import name -> distribution name, for the usual suspects whose names differ.
_DIST_NAMES = {
    "sklearn": "scikit-learn",
    "skl2onnx": "skl2onnx",
    "onnxruntime": "onnxruntime",
    "yaml": "PyYAML",
}


@lru_cache(maxsize=512)
def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def _top_level_to_dist() -> dict[str, str]:
    mapping = metadata.packages_distributions()
    return {mod: dists[0] for mod, dists in mapping.items() if dists}


def distribution_of(module: str) -> str | None:
    top = module.split(".", 1)[0]
    if top in _DIST_NAMES:
        return _DIST_NAMES[top]
    if top in sys.stdlib_module_names or top == "__main__":
        return None
    if _version(top) is not None:  # the common case: import name == distribution name
        return top
    return _top_level_to_dist().get(top)


def pinned(packages: list[str], *, modules: list[str] | None = None) -> list[str]:
    """``name==version`` lines for ``packages`` and the distributions of ``modules``.

    Packages not installed are left out (a model cannot need what it was not
    trained with); duplicates are removed; the order is stable.
    """
    names: list[str] = list(packages)
    for module in modules or []:
        dist = distribution_of(module)
        if dist:
            names.append(dist)
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        version = _version(name)
        if version is not None:
            out.append(f"{name}=={version}")
    return out


def python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))
