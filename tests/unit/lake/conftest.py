"""Small raw files for lake tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ORDERS = """order_id,customer_id,order_ts,amount,channel
1,7,2026-01-01T10:00:00+00:00,10.5,web
2,7,2026-01-02T11:00:00+00:00,20.0,app
3,8,2026-01-02T12:00:00+00:00,-5.0,web
4,,2026-01-03T09:00:00+00:00,12.0,store
5,9
2,7,2026-01-02T11:00:00+00:00,20.0,app
6,9,not-a-date,8.0,web
7,9,2026-01-04T09:00:00+00:00,30.0,web
"""


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    d = tmp_path / "raw"
    d.mkdir()
    (d / "orders.csv").write_text(ORDERS)
    (d / "customers.jsonl").write_text(
        '{"customer_id": 7, "email": "a@x.io", "country": "DE", "signup_ts": "2025-01-01T00:00:00+00:00"}\n'
        '{"customer_id": 8, "email": "b@x.io", "country": "FR", "signup_ts": "2025-02-01T00:00:00+00:00"}\n'
        "this is not json\n"
        '{"customer_id": 9, "email": "c@x.io", "country": "NL", "signup_ts": "2025-03-01T00:00:00+00:00"}\n'
    )
    return d
