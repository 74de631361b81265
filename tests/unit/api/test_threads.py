"""Server processes score each request on one native thread."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, threadpoolctl
from shipyard._internal.threads import limit_native_threads
limit_native_threads()
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: F401
print(json.dumps([p["num_threads"] for p in threadpoolctl.threadpool_info()]))
"""


def test_limit_native_threads_applies_to_openmp_and_blas() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    ).stdout
    pools = json.loads(out)
    assert pools, "no native thread pool was found"
    assert set(pools) == {1}
