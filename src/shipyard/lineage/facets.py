"""OpenLineage datasets made from catalog assets: schema, version, statistics, column lineage.

A catalog asset ``kind:name`` is the dataset ``name = "kind:name"`` in Shipyard's
namespace (``shipyard://<project>`` unless ``lineage.namespace`` says otherwise),
so an event Shipyard sends can be read back into the same graph.
"""

from __future__ import annotations

from typing import Any

from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.generated.column_lineage_dataset import (
    ColumnLineageDatasetFacet,
    Fields,
    InputField,
)
from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet
from openlineage.client.generated.output_statistics_output_dataset import (
    OutputStatisticsOutputDatasetFacet,
)
from openlineage.client.generated.schema_dataset import (
    SchemaDatasetFacet,
    SchemaDatasetFacetFields,
)

from shipyard.catalog.models import Asset


def dataset_name(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def _schema(asset: Asset) -> SchemaDatasetFacet | None:
    columns = asset.properties.get("columns") or []
    if not columns:
        return None
    return SchemaDatasetFacet(
        fields=[
            SchemaDatasetFacetFields(
                name=str(c["name"]),
                type=str(c.get("type") or "") or None,
                description=c.get("description") or None,
                ordinal_position=i + 1,
            )
            for i, c in enumerate(columns)
            if isinstance(c, dict) and c.get("name")
        ]
    )


def _column_lineage(asset: Asset, namespace: str) -> ColumnLineageDatasetFacet | None:
    """``column_lineage`` of a defined table (``{col: ["bronze.orders.amount", ...]}``)."""
    mapping = asset.properties.get("column_lineage") or {}
    fields: dict[str, Fields] = {}
    for column, sources in mapping.items():
        inputs = []
        for source in sources or []:
            table, _, field = str(source).rpartition(".")
            if table and field:
                inputs.append(
                    InputField(namespace=namespace, name=dataset_name("table", table), field=field)
                )
        if inputs:
            fields[str(column)] = Fields(inputFields=inputs)
    return ColumnLineageDatasetFacet(fields=fields) if fields else None


def output_dataset(
    asset: Asset, version: int, namespace: str, details: dict[str, Any]
) -> OutputDataset:
    """The dataset a run wrote: its schema, Delta/catalog version, column lineage and rows."""
    facets: dict[str, Any] = {"version": DatasetVersionDatasetFacet(datasetVersion=str(version))}
    if (schema := _schema(asset)) is not None:
        facets["schema"] = schema
    if (lineage := _column_lineage(asset, namespace)) is not None:
        facets["columnLineage"] = lineage
    rows = details.get("rows")
    size = asset.properties.get("size_bytes")
    files = asset.properties.get("num_files")
    if not isinstance(rows, int):
        rows = asset.properties.get("num_rows")
    output_facets: dict[str, Any] = {}
    if isinstance(rows, int):  # rows the run wrote (or, if it does not say, the table's)
        output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(
            rowCount=rows,
            size=int(size) if isinstance(size, int) else None,
            fileCount=int(files) if isinstance(files, int) else None,
        )
    return OutputDataset(
        namespace=namespace,
        name=dataset_name(asset.kind, asset.name),
        facets=facets,
        outputFacets=output_facets,
    )


def input_dataset(kind: str, name: str, version: int, namespace: str) -> InputDataset:
    return InputDataset(
        namespace=namespace,
        name=dataset_name(kind, name),
        facets={"version": DatasetVersionDatasetFacet(datasetVersion=str(version))},
    )
