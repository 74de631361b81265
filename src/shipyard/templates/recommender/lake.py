"""Lake: the bronze tables the raw files land in, and the curated tables computed from them."""

from __future__ import annotations

from pathlib import Path

from shipyard.lake import Expectation, TableDefinition
from shipyard.platform import Platform

SILVER_INTERACTIONS = """
SELECT TRY_CAST(interaction_id AS BIGINT) AS interaction_id,
       TRY_CAST(user_id AS BIGINT) AS user_id,
       TRY_CAST(item_id AS BIGINT) AS item_id,
       TRY_CAST(ts AS TIMESTAMPTZ) AS ts,
       CAST(event AS VARCHAR) AS event
FROM bronze.interactions
"""

# A day's counts are known when the day is over: event_ts is the next midnight.
GOLD_ITEM_POPULARITY = """
WITH daily AS (
    SELECT item_id, CAST(ts AS DATE) AS day, count(*) AS events,
           count(*) FILTER (WHERE event = 'purchase') AS purchases
    FROM silver.interactions GROUP BY ALL
)
SELECT item_id,
       CAST(CAST(day AS TIMESTAMP) + INTERVAL 1 DAY AS TIMESTAMPTZ) AS event_ts,
       CAST(sum(events) OVER w AS DOUBLE) AS item_events_7d,
       CAST(sum(purchases) OVER w AS DOUBLE) AS item_purchases_7d
FROM daily
WINDOW w AS (PARTITION BY item_id ORDER BY day RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW)
"""

GOLD_USER_ACTIVITY = """
WITH daily AS (
    SELECT user_id, CAST(ts AS DATE) AS day, count(*) AS events,
           count(DISTINCT item_id) AS items
    FROM silver.interactions GROUP BY ALL
)
SELECT user_id,
       CAST(CAST(day AS TIMESTAMP) + INTERVAL 1 DAY AS TIMESTAMPTZ) AS event_ts,
       CAST(sum(events) OVER w AS DOUBLE) AS user_events_14d,
       CAST(sum(items) OVER w AS DOUBLE) AS user_items_14d
FROM daily
WINDOW w AS (PARTITION BY user_id ORDER BY day RANGE BETWEEN INTERVAL 13 DAYS PRECEDING AND CURRENT ROW)
"""

TABLES = [
    TableDefinition(
        name="silver.interactions",
        sql=SILVER_INTERACTIONS,
        description="Interactions, typed and deduplicated.",
        expectations=[
            Expectation.not_null("user_id", action="quarantine"),
            Expectation.not_null("item_id", action="quarantine"),
            Expectation.accepted_values("event", ["view", "purchase"], action="warn"),
        ],
        dedupe_on=["interaction_id"],
        primary_key=["interaction_id"],
        incremental=True,
    ),
    TableDefinition(
        name="gold.item_popularity",
        sql=GOLD_ITEM_POPULARITY,
        description="Per-item events and purchases over the last 7 days.",
    ),
    TableDefinition(
        name="gold.user_activity",
        sql=GOLD_USER_ACTIVITY,
        description="Per-user events and distinct items over the last 14 days.",
    ),
]


def build(p: Platform, raw: dict[str, Path]) -> None:
    """Ingest the raw files (idempotent), declare the curated tables, refresh them."""
    for table, path in raw.items():
        p.lake.ingest(table, path)
    for definition in TABLES:
        p.lake.define(definition)
    p.lake.refresh_all()
