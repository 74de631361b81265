"""COPY text from a pg_dump archive turns into the catalog's column values
(the whole restore: tests/integration/backup/test_backup_postgres.py)."""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.backup.convert import _null, _reader
from shipyard.backup.pgdump import _field, _identifiers, _table, read_blocks
from shipyard.errors import BackendUnavailable


def test_copy_fields_unescape() -> None:
    assert _field("\\N") is None
    assert _field("a\\tb\\nc\\\\d\\rz") == "a\tb\nc\\d\rz"
    assert _field("\\101\\x42") == "AB"  # octal and hex forms COPY FROM accepts
    assert _field("plain") == "plain"


def test_copy_header_names() -> None:
    assert _identifiers('id, "offset", "we""ird, name", x') == ["id", "offset", 'we"ird, name', "x"]
    assert _table("public.assets") == "assets"
    assert _table('public."order"') == "order"


def test_values_read_as_the_column_types() -> None:
    assert _reader(sa.Boolean())("t") is True and _reader(sa.Boolean())("f") is False
    assert _reader(sa.BigInteger())("9007199254740993") == 9007199254740993
    assert math.isnan(_reader(sa.Float())("NaN")) and _reader(sa.Float())("-Infinity") < 0
    ts = _reader(sa.DateTime(timezone=True))("2026-12-06 07:05:48.123456+02")
    assert ts == datetime(2026, 12, 6, 5, 5, 48, 123456, tzinfo=UTC) and ts.tzinfo is UTC
    assert _reader(sa.JSON())('{"a": [1, 2.5, null]}') == json.loads('{"a": [1, 2.5, null]}')
    assert _reader(sa.LargeBinary())("\\x00ff") == b"\x00\xff"  # bytea, after unescaping
    assert _reader(sa.Text())("x") == "x"
    # SQL NULL stays SQL NULL in a JSON column (None would be stored as JSON 'null')
    assert isinstance(_null(sa.JSON()), sa.sql.elements.Null) and _null(sa.Text()) is None


def test_a_missing_program_or_a_broken_archive_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "catalog.dump"
    junk.write_bytes(b"PGDMP not really an archive")
    if shutil.which("pg_restore") is not None:
        with pytest.raises(BackendUnavailable, match=r"^pg_restore failed: ") as err:
            list(read_blocks(junk))
        assert "\n" not in err.value.message
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackendUnavailable, match="needs pg_restore on the PATH"):
        list(read_blocks(junk))
