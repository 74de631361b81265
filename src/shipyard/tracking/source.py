"""Where a run came from: git commit and dirty flag, entry point, Python and packages.

The commit is read from ``.git`` files directly; only the dirty flag asks git
(``git status --porcelain``, with a short timeout), and only once per process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from shipyard.tracking.packaging.requirements import python_version

_PACKAGES = ("shipyard", "scikit-learn", "numpy", "pandas", "lightgbm", "xgboost", "torch")


def _git_dir(start: Path) -> Path | None:
    for d in (start, *start.parents):
        candidate = d / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # worktree: "gitdir: <path>"
            text = candidate.read_text().strip()
            if text.startswith("gitdir:"):
                return (d / text.split(":", 1)[1].strip()).resolve()
    return None


def _commit(git: Path) -> str | None:
    head = (git / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(":", 1)[1].strip()
    for base in (git, _common_dir(git)):
        path = base / ref
        if path.is_file():
            return path.read_text().strip()
        packed = base / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    return None


def _common_dir(git: Path) -> Path:
    common = git / "commondir"
    return (git / common.read_text().strip()).resolve() if common.is_file() else git


@lru_cache(maxsize=4)
def _dirty(root: str) -> bool | None:
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def _entry_point() -> str:
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    return str(Path(file).resolve()) if file else (sys.argv[0] if sys.argv else "<interactive>")


def source_tags(cwd: Path | None = None) -> dict[str, str]:
    """System tags describing the source; both ``shipyard.*`` and MLflow's ``mlflow.source.*``."""
    entry = _entry_point()
    out = {
        "shipyard.source.entry_point": entry,
        "mlflow.source.name": entry,
        "mlflow.source.type": "LOCAL",
        "shipyard.python_version": python_version(),
        "shipyard.packages": json.dumps(_package_versions()),
    }
    start = (cwd or Path.cwd()).resolve()
    try:
        git = _git_dir(start)
        commit = _commit(git) if git else None
    except OSError:
        git, commit = None, None
    if git is not None and commit:
        out["shipyard.source.git_commit"] = commit
        out["mlflow.source.git.commit"] = commit
        root = git.parent if git.name == ".git" else start
        dirty = _dirty(str(root))
        if dirty is not None:
            out["shipyard.source.git_dirty"] = str(dirty).lower()
    return out


@lru_cache(maxsize=1)
def _package_versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
