"""Starting the API imports no heavy library that only some calls need (ADR 0023).

pandas alone cost ~0.6 s of every ``shipyard serve`` and every test process that built
the app, imported only for an annotation in a Protocol.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "sklearn", "scipy", "ray", "optuna", "faiss", "torch", "mlflow")

SCRIPT = """
import importlib, json, sys
import shipyard
from shipyard.api import app
for name in app.ROUTERS:
    importlib.import_module(f"shipyard.api.routes.{name}")
import shipyard.ui
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_the_api_modules_import_no_heavy_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % (HEAVY,)], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], (
        f"imported when the API starts: {sorted({m.split('.')[0] for m in loaded})}"
    )
