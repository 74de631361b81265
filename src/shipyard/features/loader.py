"""Definitions as code: import the project's definition files and collect what they declare.

``shipyard features plan|apply`` and ``shipyard plan|apply`` read ``features.py`` and
``features/*.py`` in the project (or the paths given). Every module-level Entity, FeatureView,
OnDemandFeatureView and FeatureService is a definition. A file that does not
import is reported with its file and line.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
import uuid
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.features.models import DEFINITION_KINDS


def default_paths(project_dir: Path) -> list[Path]:
    paths = []
    single = project_dir / "features.py"
    if single.is_file():
        paths.append(single)
    folder = project_dir / "features"
    if folder.is_dir():
        paths += sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    return paths


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.glob("*.py") if not f.name.startswith("_"))
        elif p.is_file():
            out.append(p)
        else:
            raise InvalidArgument(f"no definitions file or folder at {p}", path=str(p))
    return out


def _import_error(path: Path, exc: BaseException) -> InvalidArgument:
    line: int | None = None
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        line = exc.lineno
    else:
        for frame in traceback.extract_tb(exc.__traceback__):
            if Path(frame.filename).resolve() == path.resolve():
                line = frame.lineno
    where = f"{path}:{line}" if line else str(path)
    return InvalidArgument(
        f"{where}: definitions file does not import: {type(exc).__name__}: {exc}",
        file=str(path),
        line=line,
    )


def load_file(path: Path) -> list[Any]:
    """The definitions a file declares at module level, in declaration order."""
    name = f"shipyard_definitions_{uuid.uuid4().hex[:8]}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"{path}: not an importable Python file", file=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # on-demand functions look their module up
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise _import_error(path, exc) from None
    finally:
        sys.path.remove(str(path.parent))
    return [
        v
        for v in vars(module).values()
        if not isinstance(v, type) and getattr(v, "kind", None) in DEFINITION_KINDS
    ]


def load_definitions(paths: list[Path]) -> list[Any]:
    """Every definition of ``paths`` (files or folders), each object once.

    Raises:
        InvalidArgument: a file does not import (file and line in the message), or
            two files declare the same kind and name differently.
    """
    seen: dict[tuple[str, str], Any] = {}
    for path in _expand(paths):
        for obj in load_file(path):
            key = (obj.kind, obj.name)
            other = seen.get(key)
            if other is not None and other is not obj and other.to_spec() != obj.to_spec():
                raise InvalidArgument(f"{obj.kind} '{obj.name}' is declared twice, differently")
            seen.setdefault(key, obj)
    return list(seen.values())
