"""`shipyard events publish|tail|topics`: thin over ``EventService``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.cli._paging import AllOption, LimitOption, list_command
from shipyard.errors import InvalidArgument

events = typer.Typer(help="Event bus: publish records, tail topics.", no_args_is_help=True)


def _parse_lines(lines: list[str], where: str) -> list[dict[str, Any]]:
    out = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{where} line {i} is not JSON: {exc.msg}") from None
    return out


@events.command("publish")
def publish(
    topic: str = typer.Argument(..., help="The topic."),
    record: list[str] = typer.Option([], "--record", "-r", help="One JSON object, repeatable."),
    file: Path = typer.Option(None, "--file", "-f", help="A JSON-lines file ('-' = stdin)."),
    key: str = typer.Option(None, "--key", help="Idempotency key: a retry publishes nothing."),
    as_json: bool = JsonOption,
) -> None:
    """Publish records (from --record, a JSON-lines --file, or stdin) as one batch."""
    if record:
        records = _parse_lines(record, "--record")
    elif file is not None and str(file) != "-":
        if not file.is_file():
            raise InvalidArgument(f"no file {file}")
        records = _parse_lines(file.read_text().splitlines(), str(file))
    else:
        records = _parse_lines(sys.stdin.read().splitlines(), "stdin")
    result = platform().events.publish(topic, records, key=key)
    if as_json:
        print_json(result)
        return
    state = " (already published: skipped)" if result.skipped else ""
    console.print(
        f"published {result.count} record(s) to {topic} at offsets "
        f"{result.first_offset}..{result.last_offset}{state}"
    )


@events.command("tail")
def tail(
    topic: str = typer.Argument(..., help="The topic."),
    limit: int = typer.Option(10, "--limit", "-n", help="How many records."),
    offset: int = typer.Option(None, "--offset", help="Start here (default: the last N)."),
    as_json: bool = JsonOption,
) -> None:
    """Show a topic's last records (or those from --offset on)."""
    svc = platform().events
    if offset is None:
        offset = max(0, svc.get_topic(topic).end_offset - limit)
    records = svc.read_records(topic, offset=offset, limit=limit)
    if as_json:
        print_json(records)
        return
    print_table(
        [{"offset": r.offset, "published_at": r.published_at, "value": r.value} for r in records],
        ["offset", "published_at", "value"],
        title=topic,
    )


@events.command("topics")
def topics(limit: int = LimitOption, every: bool = AllOption, as_json: bool = JsonOption) -> None:
    """List topics with their end offsets."""
    columns = ["name", "owner", "end_offset"]
    list_command(platform().events.list_topics, columns, limit, every, as_json)


def _report(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    console.print(
        f"{result.batches} batch(es), {result.records} record(s) "
        f"({result.skipped_batches} batch(es) already there); committed offset "
        f"{result.committed_offset}"
    )


_FOLLOW = typer.Option(False, "--follow", help="Keep consuming new records.")
_IDLE = typer.Option(None, "--idle-timeout", help="With --follow: stop after N idle seconds.")


@events.command("to-lake")
def to_lake(
    topic: str = typer.Argument(..., help="The topic."),
    table: str = typer.Argument(..., help="The lake table, e.g. bronze.orders."),
    batch: int = typer.Option(1000, "--batch", help="Records per micro-batch."),
    follow: bool = _FOLLOW,
    idle_timeout: float = _IDLE,
    as_json: bool = JsonOption,
) -> None:
    """Append a topic's records to a lake table in micro-batches (at least once)."""
    r = platform().events.to_lake(
        topic, table, max_records=batch, follow=follow, idle_timeout=idle_timeout
    )
    _report(r, as_json)


@events.command("to-features")
def to_features(
    topic: str = typer.Argument(..., help="The topic."),
    push_source: str = typer.Argument(..., help="The feature PushSource."),
    batch: int = typer.Option(1000, "--batch", help="Records per micro-batch."),
    follow: bool = _FOLLOW,
    idle_timeout: float = _IDLE,
    as_json: bool = JsonOption,
) -> None:
    """Push a topic's records to a feature PushSource (online at once, offline appended)."""
    r = platform().events.to_features(
        topic, push_source, max_records=batch, follow=follow, idle_timeout=idle_timeout
    )
    _report(r, as_json)


@events.command("score")
def score(
    topic: str = typer.Argument(..., help="The input topic."),
    deployment: str = typer.Option(..., "--deployment", "-d", help="The deployment."),
    table: str = typer.Option(None, "--table", help="Write scores to this lake table."),
    to_topic: str = typer.Option(None, "--to-topic", help="Or publish them to this topic."),
    dead_letter: str = typer.Option(
        None, "--dead-letter", help="Publish records the deployment refuses to this topic."
    ),
    batch: int = typer.Option(500, "--batch", help="Records per micro-batch."),
    follow: bool = _FOLLOW,
    idle_timeout: float = _IDLE,
    as_json: bool = JsonOption,
) -> None:
    """Streaming inference: score a topic with a deployment (at least once, no duplicates)."""
    r = platform().serving.run_stream(
        deployment,
        topic,
        output_table=table,
        output_topic=to_topic,
        dead_letter_topic=dead_letter,
        max_records=batch,
        follow=follow,
        idle_timeout=idle_timeout,
    )
    _report(r, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(events, name="events")
