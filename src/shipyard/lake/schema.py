"""Schema enforcement and evolution: data must fit the table, or the write is refused.

A column the table lacks is added only when the table allows schema evolution;
a column the data lacks is filled with nulls when the table column is nullable;
a type change is refused (naming the column, the old and the new type) unless
it is a safe widening (int32 -> int64, float32 -> float64, string flavours).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from shipyard.errors import InvalidArgument


@dataclass(frozen=True)
class Plan:
    """How incoming data is shaped to fit a table."""

    target: pa.Schema  # the incoming data after alignment
    evolves: bool  # the table gains columns


def _base(t: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_dictionary(t):
        return _base(t.value_type)
    return t


def _widens(new: pa.DataType, old: pa.DataType) -> bool:
    new, old = _base(new), _base(old)
    if new == old:
        return True
    if pa.types.is_null(new):
        return True
    if pa.types.is_integer(new) and pa.types.is_integer(old):
        return new.bit_width <= old.bit_width and (
            pa.types.is_signed_integer(old) or not pa.types.is_signed_integer(new)
        )
    if pa.types.is_floating(new) and pa.types.is_floating(old):
        return new.bit_width <= old.bit_width
    if pa.types.is_integer(new) and pa.types.is_floating(old):
        return new.bit_width <= 32
    if pa.types.is_timestamp(new) and pa.types.is_timestamp(old):
        return (new.tz is None) == (old.tz is None)
    return bool(pa.types.is_date(new) and pa.types.is_date(old))


def plan(data: pa.Schema, table: pa.Schema | None, *, evolve: bool, name: str) -> Plan:
    """Decide how ``data`` fits ``table`` (``None``: a new table takes the data's schema).

    Raises:
        InvalidArgument: new columns without evolution, a missing non-nullable
            column, or a type change.
    """
    if table is None:
        return Plan(
            target=pa.schema([pa.field(f.name, _base(f.type)) for f in data]), evolves=False
        )
    extra = [f.name for f in data if f.name not in table.names]
    if extra and not evolve:
        raise InvalidArgument(
            f"columns {', '.join(extra)} are not in table '{name}' (its columns: "
            f"{', '.join(table.names)}); enable schema_evolution to add them",
            table=name,
            columns=extra,
        )
    missing = [f.name for f in table if f.name not in data.names and not f.nullable]
    if missing:
        raise InvalidArgument(
            f"the data lacks the required columns {', '.join(missing)} of table '{name}'",
            table=name,
            columns=missing,
        )
    for f in data:
        if f.name in table.names:
            old = table.field(f.name).type
            if not _widens(f.type, old):
                raise InvalidArgument(
                    f"column '{f.name}' of table '{name}' has type {old}; the data has {f.type} "
                    "(type changes are refused)",
                    table=name,
                    column=f.name,
                    old_type=str(old),
                    new_type=str(f.type),
                )
    fields = [table.field(n) for n in table.names]
    fields += [pa.field(f.name, _base(f.type)) for f in data if f.name in extra]
    return Plan(target=pa.schema(fields), evolves=bool(extra))


def align(batch: pa.RecordBatch | pa.Table, target: pa.Schema) -> pa.Table:
    """Reorder, cast and null-fill ``batch`` to ``target``.

    A dictionary-encoded column whose values have the target type stays encoded
    (cheap to write; Delta stores the plain type).
    """
    tbl = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    cols, fields = [], []
    for f in target:
        if f.name not in tbl.column_names:
            cols.append(pa.nulls(tbl.num_rows, f.type))
            fields.append(f)
            continue
        col = tbl.column(f.name)
        if pa.types.is_dictionary(col.type) and col.type.value_type == f.type:
            cols.append(col)
            fields.append(f.with_type(col.type))
        else:
            cols.append(col.cast(f.type))
            fields.append(f)
    return pa.Table.from_arrays(cols, schema=pa.schema(fields, metadata=target.metadata))
