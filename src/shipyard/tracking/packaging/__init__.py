"""Model packaging: flavors, signatures, pinned requirements, the MLmodel file, loading."""
