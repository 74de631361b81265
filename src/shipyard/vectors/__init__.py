"""Vector indexes built from lake tables: declared as code, queried with metadata filters."""

from shipyard.vectors.models import QueryResult, VectorIndexSpec

__all__ = ["QueryResult", "VectorIndexSpec"]
