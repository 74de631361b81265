"""Pipelines as code: import ``pipelines.py`` and ``pipelines/*.py`` of the project
(or the paths given) and collect their module-level ``Pipeline`` objects.

A file that does not import is refused with its file and line (the same rules as
feature definition files).
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path

from shipyard.errors import InvalidArgument
from shipyard.features.loader import _expand, _import_error
from shipyard.pipelines.definitions import Pipeline


def default_paths(project_dir: Path) -> list[Path]:
    paths = []
    if (project_dir / "pipelines.py").is_file():
        paths.append(project_dir / "pipelines.py")
    folder = project_dir / "pipelines"
    if folder.is_dir():
        paths += sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    return paths


def load_file(path: Path) -> list[Pipeline]:
    name = f"shipyard_definitions_{uuid.uuid4().hex[:8]}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"{path}: not an importable Python file", file=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except InvalidArgument as exc:  # a bad step, named by the builder: say where
        raise InvalidArgument(f"{path}: {exc.message}", file=str(path)) from None
    except Exception as exc:
        raise _import_error(path, exc) from None
    finally:
        sys.path.remove(str(path.parent))
    return [v for v in vars(module).values() if isinstance(v, Pipeline)]


def load_pipelines(paths: list[Path]) -> list[Pipeline]:
    """Every pipeline of ``paths``; the same name twice (differently) is refused."""
    seen: dict[str, Pipeline] = {}
    for path in _expand(paths):
        for p in load_file(path):
            other = seen.get(p.name)
            if other is not None and other is not p and other.to_spec() != p.to_spec():
                raise InvalidArgument(f"pipeline '{p.name}' is declared twice, differently")
            seen.setdefault(p.name, p)
    return list(seen.values())
