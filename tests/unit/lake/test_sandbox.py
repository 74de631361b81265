"""The SQL sandbox holds against the attacks of issue #10 (findings 2, 3 and 8).

Each attack ran on the platform before the sandbox: reading another team's
table through its files, writing through EXPLAIN ANALYZE, reconfiguring the
shared DuckDB, stacking statements into a row filter.
"""

from __future__ import annotations

import glob
import time
from pathlib import Path

import pandas as pd
import pytest

from shipyard.errors import InvalidArgument, PermissionDenied, QuotaExceeded
from shipyard.platform import Platform
from shipyard.security.models import Role


@pytest.fixture
def teams(platform: Platform) -> dict[str, Platform]:
    """Team ``risk`` owns gold.scores; ``ml``'s editor and a role-less principal attack it."""
    platform.lake.write(
        "gold.scores",
        pd.DataFrame({"customer_id": [1, 2, 3], "score": [0.1, 0.5, 0.9]}),
        owner="risk",
    )
    platform.lake.write("gold.ml_own", pd.DataFrame({"x": [1, 2]}), owner="ml")
    sec = platform.security
    return {
        "ml": platform.as_principal(sec.create_principal("mel", team="ml", role=Role.EDITOR)),
        "none": platform.as_principal(sec.create_principal("nobody")),
        "admin": platform,
    }


def _part_file(platform: Platform, table: str) -> str:
    layer, name = table.split(".")
    files = glob.glob(str(Path(platform.lake.storage.root) / layer / name / "*.parquet"))
    assert files, "the table has Parquet files to attack"
    return files[0]


FILE_READS = [
    "SELECT * FROM read_parquet('{f}')",
    "SELECT * FROM '{f}'",
    "SELECT * FROM read_text('{f}')",
    "SELECT * FROM read_blob('{f}')",
    "SELECT * FROM glob('{d}/*')",
    "SELECT * FROM read_csv('{f}')",
    "SELECT * FROM parquet_scan('{f}')",
    "SELECT * FROM gold.ml_own WHERE x IN (SELECT 1 FROM read_parquet('{f}'))",
    "WITH t AS (SELECT * FROM read_parquet('{f}')) SELECT * FROM t",
]


@pytest.mark.parametrize("template", FILE_READS)
@pytest.mark.parametrize("who", ["ml", "none"])
def test_files_of_another_teams_table_cannot_be_read(
    teams: dict[str, Platform], template: str, who: str
) -> None:
    f = _part_file(teams["admin"], "gold.scores")
    sql = template.format(f=f, d=str(Path(f).parent))
    with pytest.raises(InvalidArgument, match=r"not allowed|unknown table"):
        teams[who].lake.sql(sql)


def test_another_teams_table_by_name_is_refused_and_audited(teams: dict[str, Platform]) -> None:
    with pytest.raises(PermissionDenied):
        teams["ml"].lake.sql("SELECT * FROM gold.scores")
    denied = teams["admin"].audit.list_records(principal="mel", outcome="denied").items
    assert denied and denied[0].asset == "table:gold.scores"


def test_reads_are_audited(teams: dict[str, Platform]) -> None:
    teams["ml"].lake.sql("SELECT count(*) FROM gold.ml_own")
    teams["ml"].lake.read("gold.ml_own", filter="x > 1")
    rows = teams["admin"].audit.list_records(principal="mel", outcome="ok").items
    assert [r.action for r in rows[:2]] == ["lake.read", "lake.sql"]
    assert rows[1].details["tables"] == ["gold.ml_own"]


@pytest.mark.parametrize(
    "sql",
    [
        "EXPLAIN ANALYZE COPY (SELECT 1 AS customer_id) TO '{f}' (FORMAT parquet)",
        "EXPLAIN ANALYZE SET lock_configuration=true",
        "EXPLAIN SELECT 1",
        "SET memory_limit='1MB'",
        "SET threads=1",
        "PRAGMA threads=1",
        "COPY (SELECT 1) TO '{f}'",
        "ATTACH '{f}' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "CALL pragma_version()",
        "SUMMARIZE gold.ml_own",
        "DESCRIBE gold.ml_own",
        "SELECT 1; SET threads=1",
        "SELECT current_setting('allowed_directories')",
        "SELECT getvariable('x')",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM lake_0123456789abcdef.gold.ml_own",
        "x'y",
    ],
)
def test_statements_other_than_one_query_are_refused(teams: dict[str, Platform], sql: str) -> None:
    admin = teams["admin"]
    f = _part_file(admin, "gold.scores")
    with pytest.raises(InvalidArgument):
        admin.lake.sql(sql.format(f=f))
    # Nothing was written or reconfigured: the table reads, the next query works.
    assert admin.lake.read("gold.scores").num_rows == 3
    assert admin.lake.sql("SELECT count(*) AS n FROM gold.scores")["n"][0].as_py() == 3


def test_no_setting_or_server_path_leaks_through_errors(teams: dict[str, Platform]) -> None:
    root = str(teams["admin"].lake.storage.root)
    with pytest.raises(InvalidArgument) as err:
        teams["ml"].lake.sql("SELECT no_such_column FROM gold.ml_own")
    assert root not in str(err.value)


@pytest.mark.parametrize(
    "predicate",
    [
        "1=0; SET threads=1",
        "1=1) TO '/tmp/x.csv' (",
        "x IN (SELECT 1 FROM read_parquet('/tmp/*.parquet'))",
        "x IN (SELECT customer_id FROM gold.scores)",
        "current_setting('threads') = '1'",
        "x'y",
        "",
    ],
)
def test_row_filters_are_one_expression(teams: dict[str, Platform], predicate: str) -> None:
    with pytest.raises(InvalidArgument):
        teams["ml"].lake.read("gold.ml_own", filter=predicate)
    assert teams["ml"].lake.read("gold.ml_own", filter="x >= 2 AND x < 10").num_rows == 1


def test_a_long_query_is_interrupted(project_dir: Path) -> None:
    with Platform.open(project_dir, lake={"sql_timeout": 0.5}) as p:
        p.lake.write("gold.n", pd.DataFrame({"i": range(3000)}))
        started = time.monotonic()
        with pytest.raises(QuotaExceeded, match="sql_timeout"):
            p.lake.sql("SELECT sum(a.i * b.i * c.i % 7) FROM gold.n a, gold.n b, gold.n c")
        assert time.monotonic() - started < 10
        assert p.lake.sql("SELECT count(*) AS n FROM gold.n")["n"][0].as_py() == 3000


def test_results_above_the_row_cap_are_refused(project_dir: Path) -> None:
    with Platform.open(project_dir, lake={"sql_max_rows": 100}) as p:
        p.lake.write("gold.n", pd.DataFrame({"i": range(101)}))
        with pytest.raises(QuotaExceeded, match="sql_max_rows"):
            p.lake.sql("SELECT * FROM gold.n")
        assert p.lake.sql("SELECT * FROM gold.n LIMIT 100").num_rows == 100
        ordered = p.lake.sql("SELECT i FROM gold.n ORDER BY i DESC LIMIT 3")
        assert ordered["i"].to_pylist() == [100, 99, 98]


def test_memory_limit_is_enforced(project_dir: Path) -> None:
    with Platform.open(project_dir, lake={"sql_memory_limit": "20MB"}) as p:
        p.lake.write("gold.n", pd.DataFrame({"i": range(200_000)}))
        with pytest.raises(QuotaExceeded, match="sql_memory_limit"):
            p.lake.sql(
                "SELECT list(repeat('x', 200) || a.i::VARCHAR) FROM gold.n a, gold.n b "
                "WHERE b.i < 5"
            )


def test_a_table_definition_cannot_read_files_either(teams: dict[str, Platform]) -> None:
    from shipyard.lake import TableDefinition

    f = _part_file(teams["admin"], "gold.scores")
    with pytest.raises(InvalidArgument, match="not allowed"):
        teams["ml"].lake.define(
            TableDefinition(
                name="gold.copy",
                sql=f"SELECT s.* FROM gold.ml_own, read_parquet('{f}') s",
                owner="ml",
            )
        )
