"""The code version of a training run: the git commit and a hash of the uncommitted diff."""

from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=8)
def code_version(root: str) -> dict[str, str]:
    """``{"git_commit", "git_diff_sha256"}`` for the repository holding ``root`` (empty
    outside git). The diff covers tracked files (``git diff HEAD``); computed once per
    process and folder, as a job runs the code its worker imported."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return {}
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--no-color", "--no-ext-diff"],
            cwd=root,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    return {
        "git_commit": commit.stdout.strip(),
        "git_diff_sha256": hashlib.sha256(diff.stdout).hexdigest(),
        "git_dirty": str(bool(diff.stdout.strip())).lower(),
    }


def code_tags(root: Path) -> dict[str, str]:
    return {f"shipyard.training.{k}": v for k, v in code_version(str(root.resolve())).items()}
