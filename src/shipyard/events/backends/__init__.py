"""Event bus backends: ``sql`` (the catalog DB) and ``nats`` (JetStream)."""
