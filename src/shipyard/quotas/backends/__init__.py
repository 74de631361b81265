"""Rate limiter backends: ``limits`` over its in-memory or Redis storage."""
