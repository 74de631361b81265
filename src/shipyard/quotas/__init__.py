"""Quotas and rate limits per team and per principal (issue #16, ADR 0019)."""
