"""Experiment tracking: experiments, runs, params, metrics, artifacts and logged models."""
