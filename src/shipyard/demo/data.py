"""A deterministic synthetic e-commerce data set with real churn signal.

Customers order at their own rate; churners' rate decays over the three weeks
before they leave and then stops. Labels say whether a customer leaves within
30 days after a label date. The raw files also carry what real feeds carry:
lines that do not parse, rows that break the rules, and duplicates.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

CHANNELS = ("web", "app", "store")
SEGMENTS = ("consumer", "smb", "enterprise")
COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "PL")
#: Label dates, in days after the first day; each customer active then gets a row per date.
LABEL_DAYS = (50, 65)
HORIZON_DAYS = 30
#: Days over which a churner's order rate fades to nothing.
FADE_DAYS = 40


@dataclass(frozen=True)
class DemoFiles:
    customers: Path  # JSON lines
    orders: Path  # CSV
    labels: Path  # CSV
    n_customers: int
    n_orders: int  # valid, unique orders
    n_malformed: int  # lines that cannot be parsed (bronze quarantine)
    n_invalid: int  # parse, but break expectations (silver quarantine)
    n_duplicates: int  # exact repeats of valid orders (removed in silver)
    n_labels: int

    @property
    def bronze_orders(self) -> int:
        return self.n_orders + self.n_invalid + self.n_duplicates


def _order_times(
    rng: np.random.Generator, rate: float, churn_day: float | None, days: int
) -> list[float]:
    """Order times (days after the first day) for one customer: a thinned Poisson process."""
    end = min(days, churn_day) if churn_day is not None else days
    times: list[float] = []
    t = rng.exponential(1 / rate)
    while t < end:
        keep = 1.0
        if churn_day is not None and t > churn_day - FADE_DAYS:
            keep = max(0.05, (churn_day - t) / FADE_DAYS)  # fading away before leaving
        if rng.random() < keep:
            times.append(t)
        t += rng.exponential(1 / rate)
    return times


def generate(
    out_dir: Path,
    *,
    customers: int = 2000,
    days: int = 90,
    seed: int = 7,
    end: datetime | None = None,
) -> DemoFiles:
    """Write ``customers.jsonl``, ``orders.csv`` and ``labels.csv`` into ``out_dir``.

    The data ends at ``end`` (default: today's midnight UTC), so that the
    freshest features are fresh when served; the same seed and end give the
    same files.
    """
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    rates = np.exp(rng.normal(np.log(0.2), 0.6, customers))
    # Infrequent customers are likelier to leave.
    churn_prob = 1 / (1 + np.exp(3.0 * (np.log(rates) - np.log(0.15))))
    churner = rng.random(customers) < churn_prob
    churn_days = np.where(churner, rng.uniform(30, days + 30, customers), np.nan)
    signup = rng.uniform(-400, 20, customers)
    segment = rng.integers(0, len(SEGMENTS), customers)

    cust_path = out_dir / "customers.jsonl"
    with cust_path.open("w") as f:
        for i in range(customers):
            f.write(
                json.dumps(
                    {
                        "customer_id": i + 1,
                        "email": f"customer{i + 1}@example.com",
                        "country": COUNTRIES[i % len(COUNTRIES)],
                        "segment": SEGMENTS[segment[i]],
                        "signup_ts": (start + timedelta(days=float(signup[i]))).isoformat(),
                    }
                )
                + "\n"
            )

    rows: list[tuple[int, datetime, float, str]] = []
    for i in range(customers):
        cd = None if np.isnan(churn_days[i]) else float(churn_days[i])
        base_amount = (20, 60, 180)[segment[i]]
        for t in _order_times(rng, float(rates[i]), cd, days):
            amount = round(float(rng.gamma(2.0, base_amount / 2.0)), 2)
            channel = CHANNELS[int(rng.integers(0, 3))]
            rows.append((i + 1, start + timedelta(days=t), amount, channel))
    rows.sort(key=lambda r: r[1])
    n_orders = len(rows)

    orders_path = out_dir / "orders.csv"
    n_invalid = n_dup = n_bad = 0
    with orders_path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["order_id", "customer_id", "order_ts", "amount", "channel"])
        next_id = 1
        for cust, ts, amount, channel in rows:
            w.writerow([next_id, cust, ts.isoformat(), amount, channel])
            roll = rng.random()
            if roll < 0.01:  # the feed sent it twice
                w.writerow([next_id, cust, ts.isoformat(), amount, channel])
                n_dup += 1
            elif roll < 0.015:  # a refund booked as an order: negative amount
                next_id += 1
                w.writerow([next_id, cust, ts.isoformat(), -amount, channel])
                n_invalid += 1
            elif roll < 0.02:  # an order without a customer
                next_id += 1
                w.writerow([next_id, "", ts.isoformat(), amount, channel])
                n_invalid += 1
            elif roll < 0.024:  # a truncated line
                f.write(f"{next_id + 1},{cust}\n")
                next_id += 1
                n_bad += 1
            next_id += 1

    labels_path = out_dir / "labels.csv"
    n_labels = 0
    with labels_path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["customer_id", "event_timestamp", "churned"])
        for day in LABEL_DAYS:
            for i in range(customers):
                cd = None if np.isnan(churn_days[i]) else float(churn_days[i])
                if signup[i] > day - 14 or (cd is not None and cd <= day):
                    continue  # too new to judge, or already gone
                churned = int(cd is not None and cd <= day + HORIZON_DAYS)
                w.writerow([i + 1, (start + timedelta(days=day)).isoformat(), churned])
                n_labels += 1
    return DemoFiles(
        customers=cust_path,
        orders=orders_path,
        labels=labels_path,
        n_customers=customers,
        n_orders=n_orders,
        n_malformed=n_bad,
        n_invalid=n_invalid,
        n_duplicates=n_dup,
        n_labels=n_labels,
    )
