"""Run every benchmark in bench/ (each compares Shipyard with its peer in one run).

Usage: ``python bench/run_all.py [lake features tracking serving]``. Results are
written by each script under ``bench/results/``; scale knobs are each script's own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ORDER = ("spine", "lake", "features", "tracking", "serving")


def main(argv: list[str]) -> int:
    wanted = argv or [name for name in ORDER if (HERE / f"{name}.py").exists()]
    failed = []
    for name in wanted:
        script = HERE / f"{name}.py"
        print(f"=== bench/{script.name}", flush=True)
        if subprocess.call([sys.executable, str(script)]) != 0:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
