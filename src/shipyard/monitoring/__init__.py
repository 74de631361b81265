"""Monitoring: reference profiles, drift against the inference log, alerts, Prometheus text."""
