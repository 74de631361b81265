"""Environments of one project (dev, staging, prod) and promotion between them (ADR 0028)."""
