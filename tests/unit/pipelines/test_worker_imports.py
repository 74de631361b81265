"""An idle worker and scheduler import no heavy library (issue #13: idle < 150 MB).

pyarrow (and numpy with it), imported by the usage service for one Arrow table, was
half of an idle ``shipyard worker``'s 108 MB; the worker's path is kept free of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "pandas",
    "numpy",
    "pyarrow",
    "duckdb",
    "deltalake",
    "polars",
    "sklearn",
    "scipy",
    "fastapi",
    "starlette",
    "uvicorn",
    "ray",
    "torch",
    "mlflow",
)

SCRIPT = """
import json, sys
from shipyard.cli.main import app  # what `shipyard worker` / `shipyard scheduler` load
from shipyard.platform import Platform
with Platform.open(sys.argv[1]) as p:
    p.worker().run(idle_exit=0.05)  # claims, finds nothing, idles, exits
    p.pipelines.scheduler().tick()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_an_idle_worker_and_scheduler_import_no_heavy_library(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text("{}\n")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % (HEAVY,), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], f"imported by an idle worker: {sorted({m.split('.')[0] for m in loaded})}"
