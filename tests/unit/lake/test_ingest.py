from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform import Platform


def test_csv_ingest_types_bookkeeping_and_quarantine(platform: Platform, raw_dir: Path) -> None:
    r = platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    assert (r.version, r.rows_written, r.rows_quarantined, r.skipped) == (0, 6, 2, False)
    t = platform.lake.read("bronze.orders")
    assert t.schema.field("order_id").type == pa.int64()
    assert t.schema.field("amount").type == pa.float64()
    assert pa.types.is_timestamp(t.schema.field("order_ts").type)
    assert {"_ingested_at", "_source", "_batch_id"} <= set(t.column_names)
    assert set(t.column("_batch_id").to_pylist()) == {r.batch_id}
    q = platform.lake.sql(
        "SELECT _line, _raw, _reason FROM bronze.orders__quarantine ORDER BY _line"
    ).to_pylist()
    assert [row["_line"] for row in q] == [6, 8]
    assert q[0]["_raw"] == "5,9" and "expected 5 columns, found 2" in q[0]["_reason"]
    assert "order_ts" in q[1]["_reason"] and "not-a-date" in q[1]["_reason"]
    assert q[1]["_raw"].startswith("6,9,not-a-date")


def test_reingest_is_a_noop(platform: Platform, raw_dir: Path) -> None:
    first = platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    again = platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    assert again.skipped and again.version == first.version and again.rows_written == 0
    assert platform.lake.get_table("bronze.orders").num_rows == 6
    assert (
        platform.lake.sql("SELECT count(*) AS n FROM bronze.orders__quarantine")["n"][0].as_py()
        == 2
    )
    # A copy with the same content has the same batch id; an explicit id wins.
    copy = raw_dir / "copy.csv"
    copy.write_text((raw_dir / "orders.csv").read_text())
    assert platform.lake.ingest("bronze.orders", copy).skipped
    third = platform.lake.ingest("bronze.orders", copy, batch_id="manual-1")
    assert third.rows_written == 6 and third.version == 1
    assert platform.lake.ingest("bronze.orders", copy, batch_id="manual-1").skipped


def test_jsonl_and_parquet(platform: Platform, raw_dir: Path, tmp_path: Path) -> None:
    r = platform.lake.ingest("bronze.customers", raw_dir / "customers.jsonl")
    assert (r.rows_written, r.rows_quarantined) == (3, 1)
    q = platform.lake.read("bronze.customers__quarantine").to_pylist()
    assert q[0]["_line"] == 3 and q[0]["_raw"] == "this is not json"
    t = platform.lake.read("bronze.customers")
    assert pa.types.is_timestamp(t.schema.field("signup_ts").type)
    pq.write_table(pa.table({"customer_id": [1, 2], "label": [0, 1]}), tmp_path / "l.parquet")
    r2 = platform.lake.ingest("bronze.labels", tmp_path / "l.parquet")
    assert r2.rows_written == 2 and r2.rows_quarantined == 0


def test_folder_ingest_is_idempotent_per_file(platform: Platform, tmp_path: Path) -> None:
    d = tmp_path / "drop"
    d.mkdir()
    (d / "a.csv").write_text("id,v\n1,a\n2,b\n")
    first = platform.lake.ingest("bronze.events", d)
    assert first.rows_written == 2
    (d / "b.csv").write_text("id,v\n3,c\n")
    second = platform.lake.ingest("bronze.events", d)
    assert second.rows_written == 1 and second.files == [str(d / "b.csv")]
    assert platform.lake.get_table("bronze.events").num_rows == 3
    glob = platform.lake.ingest("bronze.events", str(d / "*.csv"))
    assert glob.skipped


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("id;v\n1;a\n", "delimiter"),
    ],
)
def test_bad_files_are_refused(
    platform: Platform, tmp_path: Path, content: str, message: str
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    with pytest.raises(InvalidArgument, match=message):
        platform.lake.ingest("bronze.bad", f)
    assert platform.lake.list_tables().items == []


def test_missing_file_bad_name_and_mismatched_columns(
    platform: Platform, raw_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(NotFound):
        platform.lake.ingest("bronze.orders", tmp_path / "nope.csv")
    for bad in ("orders", "platinum.orders", "bronze.Orders", "bronze.a-b"):
        with pytest.raises(InvalidArgument, match=r"<layer>\.<name>"):
            platform.lake.ingest(bad, raw_dir / "orders.csv")
    with pytest.raises(InvalidArgument, match="ingest writes bronze"):
        platform.lake.ingest("silver.orders", raw_dir / "orders.csv")
    platform.lake.ingest("bronze.orders", raw_dir / "orders.csv")
    other = tmp_path / "other.csv"
    other.write_text("order_id,customer_id,coupon\n1,2,x\n")
    with pytest.raises(InvalidArgument, match="do not match"):
        platform.lake.ingest("bronze.orders", other)
    assert platform.lake.get_table("bronze.orders").version == 0


def test_schema_evolution_on_ingest(platform: Platform, tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("id,v\n1,x\n")
    b = tmp_path / "b.csv"
    b.write_text("id,v,extra\n2,y,3\n")
    platform.lake.ingest("bronze.t", a)
    with pytest.raises(InvalidArgument):
        platform.lake.ingest("bronze.t", b)
    r = platform.lake.ingest("bronze.t", b, schema_evolution=True)
    assert r.rows_written == 1
    rows = platform.lake.sql("SELECT id, extra FROM bronze.t ORDER BY id").to_pylist()
    assert rows == [{"id": 1, "extra": None}, {"id": 2, "extra": 3}]


def test_catalog_asset_and_audit(platform: Platform, raw_dir: Path) -> None:
    platform.lake.ingest("bronze.orders", raw_dir / "orders.csv", tags=["raw"])
    asset = platform.catalog.get_asset("table:bronze.orders")
    assert asset.version == 0 and asset.tags == ["raw"]
    assert asset.properties["num_rows"] == 6
    assert [c["name"] for c in asset.properties["columns"]][:2] == ["order_id", "customer_id"]
    assert platform.catalog.get_asset("table:bronze.orders__quarantine").properties["num_rows"] == 2
    records = platform.audit.list_records(action="lake.ingest").items
    assert records and records[0].outcome == "ok"


def test_bom_header_and_json_array(platform: Platform, tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffid,v\r\n1,a\r\n2,b\r\n".encode())
    platform.lake.ingest("bronze.bom", bom)
    assert platform.lake.sql("SELECT id, v FROM bronze.bom ORDER BY id").to_pylist() == [
        {"id": 1, "v": "a"},
        {"id": 2, "v": "b"},
    ]
    arr = tmp_path / "arr.json"
    arr.write_text('[{"id": 1}]')
    with pytest.raises(InvalidArgument, match="JSON lines"):
        platform.lake.ingest("bronze.arr", arr)


def test_many_bad_rows_spill_to_disk_and_all_land(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from shipyard.lake import ingest, spill

    monkeypatch.setattr(spill, "SPILL_ROWS", 3)  # spill after every few bad rows
    monkeypatch.setattr(ingest, "BLOCK_BYTES", 64)  # and parse in many small blocks
    spills = tmp_path / "spills"
    spills.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spills))
    lines = ["id,amount"]
    for i in range(1, 41):
        lines.append(f"{i},{i}.5" if i % 4 else f"{i},not-a-number")  # every 4th is bad
    lines.append("41,1.0,extra")  # wrong column count
    path = tmp_path / "many_bad.csv"
    path.write_text("\n".join(lines) + "\n")
    r = platform.lake.ingest("bronze.many", path)
    assert (r.rows_written, r.rows_quarantined) == (30, 11)
    q = platform.lake.sql("SELECT _line, _reason FROM bronze.many__quarantine ORDER BY _line")
    assert q["_line"].to_pylist() == [i + 1 for i in range(4, 41, 4)] + [42]
    assert "expected 2 columns" in q["_reason"][-1].as_py()
    assert list(spills.iterdir()) == []  # the spill file is removed after the commit
