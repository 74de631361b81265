"""What starting Shipyard costs: ``import shipyard``, building the API app, opening a project.

Each figure is the median over ``--n`` fresh interpreters (imports are only paid once per
process), as wall and CPU seconds (CPU is steadier on a shared machine):

- ``import``: ``import shipyard``;
- ``app``: importing ``shipyard.api.app`` and ``create_app`` over an open platform, which is
  what ``shipyard serve`` does before it listens (plus uvicorn);
- ``open``: the first ``Platform.open`` of a fresh project (creates the metadata database)
  and ``close``; ``reopen``: opening it again (the database exists);
- ``open_x20``: 20 more fresh projects opened and closed in the same process, per project
  (what the test suite pays for each ``platform`` fixture).

Usage: ``python bench/startup.py [--n 5] [--src path/to/src]`` (``--src`` compares a tree).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, tempfile, time

def clocks():
    return time.perf_counter(), time.process_time()

out = {}
w, c = clocks()
import shipyard
from shipyard.platform import Platform
w1, c1 = clocks(); out["import"] = (w1 - w, c1 - c)
with tempfile.TemporaryDirectory() as tmp:
    w, c = clocks()
    Platform.open(tmp).close()
    w1, c1 = clocks(); out["open"] = (w1 - w, c1 - c)
    w, c = clocks()
    platform = Platform.open(tmp)
    w1, c1 = clocks(); out["reopen"] = (w1 - w, c1 - c)
    w, c = clocks()
    from shipyard.api.app import create_app
    create_app(platform)
    w1, c1 = clocks(); out["app"] = (w1 - w, c1 - c)
    platform.close()
w, c = clocks()
for _ in range(20):
    with tempfile.TemporaryDirectory() as tmp:
        Platform.open(tmp).close()
w1, c1 = clocks(); out["open_x20"] = ((w1 - w) / 20, (c1 - c) / 20)
print(json.dumps(out))
"""


def measure(src: str | None, n: int) -> dict[str, tuple[float, float]]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    runs = []
    for _ in range(n):
        done = subprocess.run(
            [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        key: (
            statistics.median(r[key][0] for r in runs),
            statistics.median(r[key][1] for r in runs),
        )
        for key in runs[0]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--src", action="append", help="a src/ tree to measure (repeatable)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    for src in args.src or [None]:
        figures = measure(src, args.n)
        print(src or "installed shipyard")
        for key, (wall, cpu) in figures.items():
            print(f"  {key:10} wall {wall:6.3f} s   cpu {cpu:6.3f} s")


if __name__ == "__main__":
    main()
