"""One router module per area of the web UI, each a thin skin over the services."""
