"""Model registry: registered models, versions, aliases and governed promotion."""
