"""The seams serving depends on: online features and model versions."""
