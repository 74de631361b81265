"""OpenLineage: run events out of Shipyard (``observer``) and into its lineage graph
(``service``); docs/operations.md#openlineage."""

from shipyard.lineage.models import LineageIngest

__all__ = ["LineageIngest"]
