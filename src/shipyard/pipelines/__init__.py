"""Orchestration: the durable job queue and its workers (pipelines build on it)."""

from shipyard.pipelines.functions import job
from shipyard.pipelines.models import Job, JobSpec, JobState

__all__ = ["Job", "JobSpec", "JobState", "job"]
