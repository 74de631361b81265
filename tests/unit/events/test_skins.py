"""The event bus through its skins: HTTP + remote client (a live server) and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.cli.main import run
from shipyard.client.events import RemoteEventService
from shipyard.client.http import HttpTransport
from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.platform import Platform
from tests.servers import live_server


@pytest.fixture
def server_url(platform: Platform) -> Iterator[str]:
    with live_server(platform) as url:
        yield url


def test_publish_and_consume_over_http(platform: Platform, server_url: str) -> None:
    token = platform.security.create_token().token
    r = httpx.post(
        f"{server_url}/api/v1/events/topics/clicks/records",
        json={"records": [{"u": 1}, {"u": 2}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["first_offset"], r.json()["last_offset"]) == (0, 1)
    http = HttpTransport(server_url, token)
    remote = RemoteEventService(http)
    remote.publish("clicks", [{"u": 3}], key="k1")
    assert remote.publish("clicks", [{"u": 3}], key="k1").skipped
    assert [b.values for b in remote.consume("clicks", "g", max_records=2)] == [
        [{"u": 1}, {"u": 2}],
        [{"u": 3}],
    ]
    assert remote.get_topic("clicks").groups == {"g": 3}
    assert [t.name for t in remote.list_topics().items] == ["clicks"]
    assert [x.offset for x in remote.read_records("clicks", offset=2)] == [2]
    with pytest.raises(InvalidArgument, match="non-empty"):
        remote.publish("clicks", [])
    viewer = platform.security.create_principal("vi", role="viewer")
    viewer_http = HttpTransport(
        server_url, platform.security.create_token(principal=viewer.name).token
    )
    as_viewer = RemoteEventService(viewer_http)
    with pytest.raises(PermissionDenied):
        as_viewer.publish("clicks", [{"u": 4}])
    assert as_viewer.read("clicks", "v").first_offset == 0  # viewers may consume
    http.close()
    viewer_http.close()


def test_cli_publish_tail_topics(
    project_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project_dir / "shipyard.yaml").write_text("")  # a project: commands refuse other folders
    d = str(project_dir)
    assert run(["-C", d, "events", "publish", "orders", "-r", '{"id": 1}', "-r", '{"id": 2}']) == 0
    assert "offsets 0..1" in capsys.readouterr().out
    lines = tmp_path / "more.jsonl"
    lines.write_text('{"id": 3}\n\n{"id": 4}\n')
    assert run(["-C", d, "events", "publish", "orders", "--file", str(lines), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["last_offset"] == 3
    assert run(["-C", d, "events", "tail", "orders", "-n", "2", "--json"]) == 0
    assert [r["value"]["id"] for r in json.loads(capsys.readouterr().out)] == [3, 4]
    assert run(["-C", d, "events", "topics", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["end_offset"] == 4
    assert run(["-C", d, "events", "publish", "orders", "-r", "{nope"]) == 1
    assert "not JSON" in capsys.readouterr().err


def test_cli_to_lake(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project_dir / "shipyard.yaml").write_text("")  # a project: commands refuse other folders
    d = str(project_dir)
    assert run(["-C", d, "events", "publish", "o", "-r", '{"id": 1}', "-r", '{"id": 2}']) == 0
    assert run(["-C", d, "events", "to-lake", "o", "bronze.o", "--batch", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["committed_offset"] == 2
    assert run(["-C", d, "events", "score", "o", "-d", "nope", "--table", "gold.x"]) == 1
    assert "nope" in capsys.readouterr().err
