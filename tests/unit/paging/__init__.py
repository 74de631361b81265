"""Paging tests: tokens, limits and lists of a restricted caller (docs/adr/0012-paging.md)."""
