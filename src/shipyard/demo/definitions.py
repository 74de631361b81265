"""The demo project's definitions: curated tables and features, as code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

SILVER_ORDERS = """
SELECT TRY_CAST(order_id AS BIGINT) AS order_id,
       TRY_CAST(customer_id AS BIGINT) AS customer_id,
       TRY_CAST(order_ts AS TIMESTAMPTZ) AS order_ts,
       TRY_CAST(amount AS DOUBLE) AS amount,
       CAST(channel AS VARCHAR) AS channel
FROM bronze.orders
"""

SILVER_CUSTOMERS = """
SELECT TRY_CAST(customer_id AS BIGINT) AS customer_id,
       CAST(email AS VARCHAR) AS email,
       CAST(country AS VARCHAR) AS country,
       CAST(segment AS VARCHAR) AS segment,
       TRY_CAST(signup_ts AS TIMESTAMPTZ) AS signup_ts
FROM bronze.customers
"""

# One row per customer per day since sign-up, so rolling windows decay on quiet days.
# A day's features are known when the day is over: event_ts is the next midnight.
GOLD_CUSTOMER_DAILY = """
WITH bounds AS (
    SELECT CAST(min(order_ts) AS DATE) AS lo, CAST(max(order_ts) AS DATE) AS hi FROM silver.orders
),
days AS (
    SELECT CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS DATE) AS day FROM bounds
),
daily AS (
    SELECT customer_id, CAST(order_ts AS DATE) AS day, count(*) AS orders, sum(amount) AS revenue
    FROM silver.orders GROUP BY ALL
),
grid AS (
    SELECT c.customer_id, d.day FROM silver.customers c CROSS JOIN days d
    WHERE d.day >= CAST(c.signup_ts AS DATE)
),
filled AS (
    SELECT g.customer_id, g.day, coalesce(x.orders, 0) AS orders, coalesce(x.revenue, 0) AS revenue
    FROM grid g LEFT JOIN daily x USING (customer_id, day)
)
SELECT customer_id,
       CAST(CAST(day AS TIMESTAMP) + INTERVAL 1 DAY AS TIMESTAMPTZ) AS event_ts,
       CAST(sum(orders) OVER w7 AS DOUBLE) AS orders_7d,
       CAST(sum(revenue) OVER w7 AS DOUBLE) AS revenue_7d,
       CAST(sum(orders) OVER w30 AS DOUBLE) AS orders_30d,
       CAST(sum(revenue) OVER w30 AS DOUBLE) AS revenue_30d,
       CAST(count(*) FILTER (WHERE orders > 0) OVER w30 AS DOUBLE) AS active_days_30d,
       CAST(sum(revenue) OVER w30 / nullif(sum(orders) OVER w30, 0) AS DOUBLE) AS avg_order_value_30d,
       CAST(sum(orders) OVER w90 AS DOUBLE) AS orders_90d,
       CAST(datediff('day', max(CASE WHEN orders > 0 THEN day END) OVER (
           PARTITION BY customer_id ORDER BY day ROWS UNBOUNDED PRECEDING), day) AS DOUBLE)
           AS days_since_last_order
FROM filled
WINDOW w7 AS (PARTITION BY customer_id ORDER BY day RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW),
       w30 AS (PARTITION BY customer_id ORDER BY day RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW),
       w90 AS (PARTITION BY customer_id ORDER BY day RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW)
"""

FEATURES = (
    "orders_7d",
    "revenue_7d",
    "orders_30d",
    "revenue_30d",
    "active_days_30d",
    "avg_order_value_30d",
    "orders_90d",
    "days_since_last_order",
)


def table_definitions() -> list[Any]:
    from shipyard.lake import Expectation, TableDefinition

    return [
        TableDefinition(
            name="silver.orders",
            sql=SILVER_ORDERS,
            description="Orders, typed and deduplicated; rule breakers quarantined.",
            expectations=[
                Expectation.not_null("customer_id", action="quarantine"),
                Expectation.not_null("order_ts", action="quarantine"),
                Expectation.range("amount", min=0, action="quarantine"),
                Expectation.accepted_values("channel", ["web", "app", "store"], action="warn"),
            ],
            dedupe_on=["order_id"],
            primary_key=["order_id"],
            incremental=True,
        ),
        TableDefinition(
            name="silver.customers",
            sql=SILVER_CUSTOMERS,
            description="Customers, typed; one row per customer.",
            expectations=[Expectation.not_null("customer_id", action="quarantine")],
            dedupe_on=["customer_id"],
            primary_key=["customer_id"],
            incremental=False,
        ),
        TableDefinition(
            name="gold.customer_daily",
            sql=GOLD_CUSTOMER_DAILY,
            description="Per-customer daily activity with rolling 7/30/90-day windows.",
            incremental=False,
        ),
    ]


def feature_definitions() -> list[Any]:
    from shipyard.features import Entity, Feature, FeatureService, FeatureView

    customer = Entity(name="customer", join_keys=["customer_id"], description="A shopper.")
    view = FeatureView(
        name="customer_daily",
        entities=["customer"],
        source="gold.customer_daily",
        timestamp_field="event_ts",
        ttl=timedelta(days=30),
        features=[Feature(name, "float64") for name in FEATURES],
        online=True,
        description="Rolling order activity per customer.",
    )
    service = FeatureService(name="churn", features=[f"customer_daily:{name}" for name in FEATURES])
    return [customer, view, service]
