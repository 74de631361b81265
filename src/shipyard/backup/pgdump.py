"""Read the rows of a ``pg_dump`` custom-format archive without a PostgreSQL server.

``pg_restore --data-only --file=-`` turns the archive into the plain SQL a server
would have run: one ``COPY <table> (<columns>) FROM stdin;`` block per table, its
rows in COPY's text format (tab-separated, ``\\N`` for NULL, backslash escapes),
ended by ``\\.``. Only the ``pg_restore`` program is needed, the one ``verify``
already uses to read the archive; no server, no scratch database.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from shipyard.errors import BackendUnavailable

_COPY = re.compile(r"^COPY (?P<table>\S+) \((?P<columns>.*)\) FROM stdin;$")
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))")
_SINGLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}

#: One table's rows: (table name without schema, column names, rows of text or None).
Block = tuple[str, list[str], Iterator[list[str | None]]]


def _unquote(name: str) -> str:
    name = name.strip()
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def _identifiers(text: str) -> list[str]:
    """``a, "offset", b`` -> ``["a", "offset", "b"]`` (a quoted name may hold ``, ``)."""
    return [_unquote(m) for m in re.findall(r'"(?:[^"]|"")*"|[^,\s]+', text)]


def _table(qualified: str) -> str:
    parts = re.findall(r'"(?:[^"]|"")*"|[^.]+', qualified)
    return _unquote(parts[-1])


def _unescape(match: re.Match[str]) -> str:
    octal, hexa, char = match.groups()
    if octal is not None:
        return chr(int(octal, 8))
    if hexa is not None:
        return chr(int(hexa, 16))
    return _SINGLE.get(char, char)


def _field(raw: str) -> str | None:
    if raw == "\\N":
        return None
    return _ESCAPE.sub(_unescape, raw) if "\\" in raw else raw


def _rows(lines: Iterator[str]) -> Iterator[list[str | None]]:
    for line in lines:
        line = line.rstrip("\n")
        if line == "\\.":
            return
        yield [_field(raw) for raw in line.split("\t")]
    raise BackendUnavailable("pg_restore: the archive ended inside a table's rows")


def read_blocks(
    dump: Path, schema: str = "public", tables: list[str] | None = None
) -> Iterator[Block]:
    """Every table's rows in ``schema`` of ``dump`` (only ``tables``, when given), streamed.

    Each block's rows must be consumed before the next block is asked for.

    Raises:
        BackendUnavailable: ``pg_restore`` is missing or cannot read the archive.
    """
    if shutil.which("pg_restore") is None:
        raise BackendUnavailable("reading a PostgreSQL restore point needs pg_restore on the PATH")
    cmd = ["pg_restore", "--data-only", f"--schema={schema}", "--file=-"]
    cmd += [f"--table={t}" for t in tables or ()]
    # stderr goes to a file: a pipe nobody reads while stdout streams could fill and block.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([*cmd, str(dump)], stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        # Split on \n only: COPY escapes every newline and carriage return inside a value.
        stdout = io.TextIOWrapper(proc.stdout, encoding="utf-8", newline="\n")
        try:
            lines = iter(stdout)
            for line in lines:
                found = _COPY.match(line.rstrip("\n"))
                if found:
                    columns = _identifiers(found["columns"])
                    yield _table(found["table"]), columns, _rows(lines)
        finally:
            stdout.close()
            code = proc.wait()
        errors.seek(0)
        error = errors.read().decode(errors="replace")
    if code != 0:
        last = (error.strip().splitlines() or ["failed"])[-1]
        raise BackendUnavailable(f"pg_restore failed: {last[:300]}")
