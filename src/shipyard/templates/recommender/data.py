"""Raw data: users, items and their interactions (views, purchases), plus labelled pairs.

Each user likes one item category and is more or less active; popular items get
more traffic. A label row says whether a user interacted with an item in the
week after a label date.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

USERS = 300
ITEMS = 60
DAYS = 60
CATEGORIES = ("books", "games", "music", "garden")
LABEL_DAYS = (35, 45)
HORIZON_DAYS = 7


def make_raw(project_dir: Path, *, seed: int = 11) -> dict[str, Path]:
    """Write ``raw/*.csv`` (the same files for the same day); returns ``{bronze table: file}``."""
    rng = np.random.default_rng(seed)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    out = project_dir / "raw"
    out.mkdir(parents=True, exist_ok=True)
    taste = rng.integers(0, len(CATEGORIES), USERS)
    activity = np.exp(rng.normal(np.log(0.6), 0.7, USERS))  # events per day
    category = rng.integers(0, len(CATEGORIES), ITEMS)
    appeal = np.exp(rng.normal(0, 1, ITEMS))
    _write(
        out / "items.csv",
        ["item_id", "category", "price"],
        [(i + 1, CATEGORIES[category[i]], round(float(rng.gamma(2, 10)), 2)) for i in range(ITEMS)],
    )
    events = []
    for u in range(USERS):
        weights = appeal * np.where(category == taste[u], 4.0, 1.0)
        weights /= weights.sum()
        n = rng.poisson(activity[u] * DAYS)
        for t, item in zip(rng.uniform(0, DAYS, n), rng.choice(ITEMS, n, p=weights), strict=True):
            kind = "purchase" if rng.random() < 0.15 else "view"
            events.append((u + 1, int(item) + 1, start + timedelta(days=float(t)), kind))
    events.sort(key=lambda e: e[2])
    _write(
        out / "interactions.csv",
        ["interaction_id", "user_id", "item_id", "ts", "event"],
        [(i + 1, u, it, ts.isoformat(), kind) for i, (u, it, ts, kind) in enumerate(events)],
    )
    _write(
        out / "labels.csv",
        ["user_id", "item_id", "event_timestamp", "interacted"],
        _labels(rng, events, start),
    )
    return {
        "bronze.items": out / "items.csv",
        "bronze.interactions": out / "interactions.csv",
        "bronze.labels": out / "labels.csv",
    }


def _labels(rng: np.random.Generator, events: list, start: datetime) -> list[tuple]:
    rows = []
    for day in LABEL_DAYS:
        at = start + timedelta(days=day)
        later = {(u, i) for u, i, ts, _ in events if at <= ts < at + timedelta(days=HORIZON_DAYS)}
        for u, i in sorted(later):
            rows.append((u, i, at.isoformat(), 1))
        for u, i in zip(
            rng.integers(1, USERS + 1, len(later)),
            rng.integers(1, ITEMS + 1, len(later)),
            strict=True,
        ):
            rows.append((int(u), int(i), at.isoformat(), int((u, i) in later)))
    return rows


def _write(path: Path, header: list[str], rows: list[tuple]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
