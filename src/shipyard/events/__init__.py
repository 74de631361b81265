"""The event bus: topics of JSON records with per-topic offsets and durable consumer groups."""

from shipyard.events.models import Batch, PublishResult, Record, TopicInfo

__all__ = ["Batch", "PublishResult", "Record", "TopicInfo"]
