"""Column metadata: descriptions, classification tags (``pii``) and column lineage."""

from __future__ import annotations

from shipyard.errors import InvalidArgument, NotFound
from shipyard.lake import records
from shipyard.lake._base import LakeBase
from shipyard.lake.models import ColumnLineage, TableInfo, parse_table_name

MAX_DEPTH = 25


class ColumnsMixin(LakeBase):
    """Methods of ``LakeService`` about columns."""

    def describe_column(
        self,
        name: str,
        column: str,
        *,
        description: str | None = None,
        tags: list[str] | None = None,
    ) -> TableInfo:
        """Document a column and classify it (tags such as ``pii``); audited.

        Raises:
            NotFound: no such table or column.
        """
        info = self.get_table(name)
        if column not in [c.name for c in info.columns]:
            raise NotFound(f"table '{name}' has no column '{column}'", table=name, column=column)
        with self._ctx.mutation(
            "lake.describe_column", team=info.owner, asset=f"table:{name}"
        ) as m:
            asset = self._ctx.catalog.get(m.conn, records.KIND, name)
            docs = dict(asset.properties.get("column_docs") or {})
            doc = dict(docs.get(column) or {})
            if description is not None:
                doc["description"] = description
            if tags is not None:
                doc["tags"] = sorted(set(tags))
            docs[column] = doc
            self._record(m.conn, name, info.owner, properties={"column_docs": docs})
            m.details = {"column": column, **doc}
        return self.get_table(name)

    def column_lineage(self, column: str, *, depth: int = 10) -> ColumnLineage:
        """The upstream columns that feed ``<layer>.<table>.<column>``, level by level.

        Raises:
            InvalidArgument: not ``<layer>.<table>.<column>``.
            NotFound: no such table or column.
        """
        table, _, col = column.rpartition(".")
        if not col or not table:
            raise InvalidArgument(
                f"'{column}' must look like <layer>.<table>.<column>", column=column
            )
        parse_table_name(table)
        if not 1 <= depth <= MAX_DEPTH:
            raise InvalidArgument(f"depth must be between 1 and {MAX_DEPTH}", depth=depth)
        if col not in [c.name for c in self.get_table(table).columns]:
            raise NotFound(f"table '{table}' has no column '{col}'", table=table, column=col)
        edges: list[tuple[str, str]] = []
        roots: list[str] = []
        frontier, seen = [column], {column}
        for _ in range(depth):
            nxt: list[str] = []
            for c in frontier:
                feeds = self._feeds(c)
                if not feeds and c != column:
                    roots.append(c)
                for s in feeds:
                    edges.append((c, s))
                    if s not in seen:
                        seen.add(s)
                        nxt.append(s)
            frontier = nxt
            if not frontier:
                break
        roots += [c for c in frontier if c not in roots]
        return ColumnLineage(column=column, edges=edges, roots=roots)

    def _feeds(self, column: str) -> list[str]:
        table, _, col = column.rpartition(".")
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.find(conn, records.KIND, table)
        if asset is None:
            return []
        mapping = asset.properties.get("column_lineage") or {}
        return list(mapping.get(col, []))
