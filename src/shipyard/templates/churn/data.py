"""Raw data: Shipyard's demo generator (customers, orders with their usual flaws, labels)."""

from __future__ import annotations

from pathlib import Path

from shipyard.demo.data import generate

CUSTOMERS = 600
DAYS = 90


def make_raw(project_dir: Path) -> dict[str, Path]:
    """Write the raw files under ``raw/``; returns ``{bronze table: file}``."""
    files = generate(project_dir / "raw", customers=CUSTOMERS, days=DAYS, seed=7)
    return {
        "bronze.customers": files.customers,
        "bronze.orders": files.orders,
        "bronze.labels": files.labels,
    }
