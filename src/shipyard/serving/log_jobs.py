"""Prediction-log flushes as scheduled jobs: what the pipeline scheduler queues.

Every ``serving.log_compact_seconds``, when the prediction spool holds anything, the
scheduler queues one ``shipyard.step_actions:flush_prediction_log`` job for the
project (key ``inference_log@<period>``: two schedulers queue one, and a flush still
waiting blocks the next). The job moves every server process's spooled predictions
into the inference log's Delta table (``PredictionSpool.flush``, ADR 0052).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from shipyard.pipelines.periodic import PeriodicSource, platform_wide
from shipyard.serving.tables import prediction_spool

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard.catalog.context import ServiceContext

TARGET = "shipyard.step_actions:flush_prediction_log"
KIND = "inference_log"


def spooled(db: Database) -> bool:
    """Whether the prediction spool holds anything (one indexed read; imports no Arrow,
    so an idle scheduler stays light)."""
    with db.connect() as conn:
        return conn.execute(sa.select(prediction_spool.c.id).limit(1)).first() is not None


def log_flushes(ctx: ServiceContext, every: float) -> PeriodicSource:
    """The scheduler's source of prediction-log flushes (none when ``every`` is 0)."""
    return platform_wide(ctx, every, target=TARGET, kind=KIND, needed=lambda: spooled(ctx.db))
