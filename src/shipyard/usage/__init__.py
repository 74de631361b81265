"""Usage metering and chargeback: ``system.usage`` and its cost (issue #16, ADR 0019)."""
