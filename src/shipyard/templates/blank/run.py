"""The whole project, end to end: ``python run.py``. Add your steps to ``main``."""

from __future__ import annotations

from pathlib import Path

from shipyard.features.loader import load_file
from shipyard.platform import Platform

HERE = Path(__file__).resolve().parent


def main() -> None:
    with Platform.open(HERE) as p:
        plan = p.features.apply(load_file(HERE / "features.py"))
        print(f"features: {len(plan.pending)} change(s) applied")
        tables = p.lake.list_tables().items
        print(f"project {p.settings.project}: {len(tables)} lake table(s); ready")


if __name__ == "__main__":
    main()
