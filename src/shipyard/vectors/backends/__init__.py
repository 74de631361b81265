"""Vector index backends behind one narrow interface (see ``base.VectorIndex``)."""
