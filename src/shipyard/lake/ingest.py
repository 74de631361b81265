"""Raw files -> typed Arrow blocks plus quarantine records, streamed in fixed memory.

CSV and JSON lines are read block by block (``BLOCK_BYTES`` at a time); every
row that cannot be parsed (wrong column count, a value that is not of its
column's type, a line that is not a JSON object) becomes a quarantine record
with its raw text, source, line number and reason. Line numbers assume one
record per physical line.
"""

from __future__ import annotations

import csv as pycsv
import glob as globlib
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shipyard.errors import InvalidArgument, NotFound
from shipyard.lake import casting
from shipyard.lake.schema import align

BLOCK_BYTES = 16 << 20
FORMATS = ("csv", "jsonl", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
QUARANTINE_SCHEMA = pa.schema(
    [
        ("_raw", pa.string()),
        ("_source", pa.string()),
        ("_line", pa.int64()),
        ("_reason", pa.string()),
        ("_batch_id", pa.string()),
        ("_ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass
class BadRow:
    raw: str
    line: int | None
    reason: str


def resolve(path: str | Path) -> list[Path]:
    """One file, every data file of a folder, or a glob; sorted."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = [Path(p) for p in sorted(globlib.glob(text, recursive=True)) if Path(p).is_file()]
    elif Path(text).is_dir():
        files = sorted(p for p in Path(text).rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
    elif Path(text).is_file():
        files = [Path(text)]
    else:
        raise NotFound(f"no file or folder at {text}", path=text)
    if not files:
        raise NotFound(f"no data files match {text}", path=text)
    return files


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidArgument(f"format must be one of {', '.join(FORMATS)}", format=fmt)
        return fmt
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InvalidArgument(
            f"cannot tell the format of {path.name}; pass format= (csv, jsonl or parquet)",
            path=str(path),
        )
    return found


def content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()[:32]


@dataclass
class FileParser:
    """Parse one file into typed blocks; ``bad`` collects what could not be parsed.

    ``schema`` gives the expected types of known columns (from the table);
    columns it lacks are inferred from the first block.
    """

    path: Path
    fmt: str
    schema: pa.Schema | None = None
    delimiter: str = ","
    bad: list[BadRow] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.path.stat().st_size == 0:
            raise InvalidArgument(f"{self.path} is empty", path=str(self.path))
        self.columns = self._read_columns()
        self._con = casting.new_connection()

    def _read_columns(self) -> list[str]:
        if self.fmt == "parquet":
            try:
                return list(pq.read_schema(self.path).names)
            except (pa.ArrowInvalid, OSError) as exc:
                raise InvalidArgument(f"{self.path} is not a Parquet file: {exc}") from None
        if self.fmt == "jsonl":
            with self.path.open("rb") as f:
                head = f.read(4096).lstrip()
            if head.startswith(b"["):
                raise InvalidArgument(
                    f"{self.path.name} holds a JSON array; write one JSON object per line "
                    "(JSON lines) to ingest it",
                    path=str(self.path),
                )
            return []  # known after the first block
        with self.path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
            header = f.readline()
        names = next(pycsv.reader([header], delimiter=self.delimiter), [])
        names = [n.strip() for n in names]
        if len(names) == 1:
            for other in (";", "\t", "|", ","):
                if other != self.delimiter and other in names[0]:
                    raise InvalidArgument(
                        f"{self.path.name}: the header has one column but contains "
                        f"{other!r}; is the delimiter {other!r}? (pass delimiter=)",
                        path=str(self.path),
                    )
        if not names or any(not n for n in names) or len(set(names)) != len(names):
            raise InvalidArgument(
                f"{self.path.name}: the header must name every column once, got {names}",
                path=str(self.path),
            )
        return names

    def blocks(self) -> Iterator[pa.Table]:
        if self.fmt == "parquet":
            yield from self._parquet_blocks()
        elif self.fmt == "jsonl":
            yield from self._text_blocks(self._jsonl_raw)
        else:
            yield from self._text_blocks(self._csv_raw)

    # -- parquet -------------------------------------------------------------------

    def _parquet_blocks(self) -> Iterator[pa.Table]:
        pf = pq.ParquetFile(self.path)
        for batch in pf.iter_batches(batch_size=256_000):
            tbl = pa.Table.from_batches([batch])
            yield tbl if self.schema is None else align(tbl, _merged(self.schema, tbl.schema))

    # -- text formats ----------------------------------------------------------------

    def _text_blocks(self, to_raw: Any) -> Iterator[pa.Table]:
        with self.path.open("rb") as f:
            line_no = 1 if self.fmt == "csv" else 0
            if self.fmt == "csv":
                f.readline()
            leftover = b""
            while True:
                chunk = f.read(BLOCK_BYTES)
                data = leftover + chunk
                if chunk:
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        leftover = data
                        continue
                    data, leftover = data[: cut + 1], data[cut + 1 :]
                else:
                    leftover = b""
                if data:
                    raw, lines = to_raw(data, line_no + 1)
                    typed = self._type(raw, lines, data, line_no + 1)
                    if typed.num_rows:
                        yield typed
                    line_no += data.count(b"\n")
                if not chunk:
                    break

    def _type(self, raw: pa.Table, lines: list[int] | None, data: bytes, first: int) -> pa.Table:
        if raw.num_rows == 0:
            return raw
        if self.schema is None or any(c not in self.schema.names for c in raw.column_names):
            inferred = casting.infer_schema(self._con, raw)
            known = self.schema
            self.schema = pa.schema(
                [
                    known.field(f.name) if known is not None and f.name in known.names else f
                    for f in inferred
                ]
            )
        wanted = pa.schema([self.schema.field(n) for n in raw.column_names])
        block = casting.type_block(self._con, raw, wanted)
        if block.bad_index:
            row_lines = lines if lines is not None else _row_lines(data, first, self.bad)
            texts = _line_texts(data, first)
            for i, reason in zip(block.bad_index, block.bad_reasons, strict=True):
                ln = row_lines[i]
                self.bad.append(BadRow(raw=texts.get(ln, ""), line=ln, reason=reason))
        return block.good

    def _csv_raw(self, data: bytes, first: int) -> tuple[pa.Table, None]:
        # Serial parsing: the parallel reader cannot tell the line numbers of bad rows.
        raw, invalid = self._read_block(data, threads=False)
        for number, text, actual in invalid:
            self.bad.append(
                BadRow(
                    raw=text,
                    line=first + number - 1 if number is not None else None,
                    reason=f"expected {len(self.columns)} columns, found {actual}",
                )
            )
        return raw, None

    def _read_block(
        self, data: bytes, *, threads: bool
    ) -> tuple[pa.Table, list[tuple[int | None, str, int]]]:
        invalid: list[tuple[int | None, str, int]] = []

        def handler(row: Any) -> str:
            invalid.append((row.number, row.text, row.actual_columns))
            return "skip"

        try:
            raw = pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(column_names=self.columns, use_threads=threads),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter, invalid_row_handler=handler
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in self.columns},
                    strings_can_be_null=True,
                ),
            )
        except pa.ArrowInvalid as exc:
            raise InvalidArgument(f"{self.path.name}: cannot read CSV: {exc}") from None
        return raw, invalid

    def _jsonl_raw(self, data: bytes, first: int) -> tuple[pa.Table, list[int]]:
        records: list[dict[str, Any]] = []
        lines: list[int] = []
        for offset, line in enumerate(data.split(b"\n")):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                rec, reason = None, f"not valid JSON: {exc}"
            else:
                reason = "not a JSON object"
            if not isinstance(rec, dict):
                self.bad.append(BadRow(_text(line), first + offset, reason))
                continue
            if not self.columns:
                self.columns = list(dict.fromkeys(k for k in rec))
            unknown = [k for k in rec if k not in self.columns]
            if unknown:
                self.bad.append(
                    BadRow(_text(line), first + offset, f"unexpected field(s) {', '.join(unknown)}")
                )
                continue
            records.append(rec)
            lines.append(first + offset)
        cols = {c: [_as_text(r.get(c)) for r in records] for c in self.columns}
        return pa.table(cols, schema=pa.schema([(c, pa.string()) for c in self.columns])), lines


def _merged(known: pa.Schema, data: pa.Schema) -> pa.Schema:
    return pa.schema([known.field(f.name) if f.name in known.names else f for f in data])


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r")


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return orjson.dumps(value).decode()


def _line_texts(data: bytes, first: int) -> dict[int, str]:
    return {first + i: _text(line) for i, line in enumerate(data.split(b"\n"))}


def _row_lines(data: bytes, first: int, bad: list[BadRow]) -> list[int]:
    """Physical line of each parsed CSV row: non-blank lines not already rejected."""
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], ends + 1))[: len(ends) + (0 if data.endswith(b"\n") else 1)]
    stops = np.concatenate((ends, [len(data)]))[: len(starts)]
    lengths = stops - starts
    rejected = {b.line for b in bad if b.line is not None}
    return [
        first + i
        for i, n in enumerate(lengths)
        if n > 0 and not (n == 1 and data[starts[i]] == 13) and first + i not in rejected
    ]
