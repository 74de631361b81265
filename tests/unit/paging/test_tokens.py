"""The paging helper: limits from Settings, strict tokens, keyset order."""

from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa

from shipyard._internal.paging import (
    Key,
    Keyset,
    keyset_page,
    page_in_memory,
    readable_teams,
    resolve_limit,
)
from shipyard.config import Settings
from shipyard.errors import InvalidArgument
from shipyard.security.models import Principal, Role

_meta = sa.MetaData()
_rows = sa.Table(
    "rows",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("team", sa.String(10), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
KEYSET = Keyset("test.rows", Key(_rows.c.at, descending=True), Key(_rows.c.id, descending=True))


@pytest.fixture
def conn() -> sa.Connection:
    from datetime import UTC, datetime, timedelta

    engine = sa.create_engine("sqlite://")
    _meta.create_all(engine)
    c = engine.connect()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    # 25 rows, several sharing a timestamp, so the tie-breaker (id) matters.
    c.execute(
        _rows.insert(),
        [
            {"id": i, "team": "a" if i % 3 else "b", "at": t0 + timedelta(seconds=i // 4)}
            for i in range(25)
        ],
    )
    return c


def _walk(conn: sa.Connection, limit: int, **filters: str) -> list[list[int]]:
    pages, token = [], None
    while True:
        q = sa.select(_rows)
        if "team" in filters:
            q = q.where(_rows.c.team == filters["team"])
        rows, token = keyset_page(conn, q, KEYSET, limit=limit, page_token=token, filters=filters)
        pages.append([r.id for r in rows])
        if token is None:
            return pages


def test_keyset_pages_are_full_ordered_and_complete(conn: sa.Connection) -> None:
    pages = _walk(conn, 4, team="a")
    flat = [i for p in pages for i in p]
    assert flat == sorted((i for i in range(25) if i % 3), reverse=True)
    assert all(len(p) == 4 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 4


def test_a_page_of_exactly_limit_rows_has_no_token(conn: sa.Connection) -> None:
    assert _walk(conn, 25) == [list(range(24, -1, -1))]


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "%%%",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _token([1, 2]),
        _token({"v": 2, "s": "x", "k": []}),
        _token({"v": 1, "s": "forged", "k": ["2026-01-01T00:00:00+00:00", 3]}),
        "A" * 5000,
        base64.urlsafe_b64encode(b"[" * 3000).decode(),  # deep JSON: no RecursionError
        "o:12",
    ],
)
def test_malformed_or_forged_tokens_are_invalid_argument(conn: sa.Connection, token: str) -> None:
    with pytest.raises(InvalidArgument):
        keyset_page(conn, sa.select(_rows), KEYSET, limit=3, page_token=token)


def test_a_token_with_a_well_formed_but_wrong_key_is_refused(conn: sa.Connection) -> None:
    _, token = keyset_page(conn, sa.select(_rows), KEYSET, limit=3, page_token=None)
    assert token is not None
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for bad in (["yesterday", 3], ["2026-01-01T00:00:00+00:00", "3"], [1], [None, None]):
        forged = _token({**body, "k": bad})
        with pytest.raises(InvalidArgument):
            keyset_page(conn, sa.select(_rows), KEYSET, limit=3, page_token=forged)


def test_a_token_is_only_valid_with_the_filters_it_was_issued_for(conn: sa.Connection) -> None:
    q = sa.select(_rows).where(_rows.c.team == "a")
    _, token = keyset_page(conn, q, KEYSET, limit=3, page_token=None, filters={"team": "a"})
    with pytest.raises(InvalidArgument, match="other filters"):
        keyset_page(conn, q, KEYSET, limit=3, page_token=token, filters={"team": "b"})
    other = Keyset("test.other", *KEYSET.keys)
    with pytest.raises(InvalidArgument):
        keyset_page(conn, q, other, limit=3, page_token=token, filters={"team": "a"})


def test_limits_come_from_settings() -> None:
    s = Settings(paging={"default_limit": 7, "max_limit": 20})
    assert resolve_limit(s, None) == 7
    assert resolve_limit(s, 5) == 5
    assert resolve_limit(s, 10**9) == 20  # bounded, not refused: the page says more exist
    for bad in (0, -1, True, "5"):
        with pytest.raises(InvalidArgument):
            resolve_limit(s, bad)  # type: ignore[arg-type]


def test_readable_teams_follow_role_bindings() -> None:
    def p(**roles: Role) -> Principal:
        return Principal(
            id="1", name="x", roles={k.replace("_all", "*"): v for k, v in roles.items()}
        )

    assert readable_teams(p(a=Role.VIEWER, b=Role.EDITOR)) == ["a", "b"]
    assert readable_teams(p(_all=Role.ADMIN)) is None
    assert readable_teams(p(_all=Role.VIEWER, a=Role.EDITOR)) is None
    assert readable_teams(p()) == []


def test_in_memory_pages_follow_the_same_rules() -> None:
    items = [f"f{i:02d}" for i in range(10)]
    page = page_in_memory(items, str, scope="s", limit=4, page_token=None)
    seen = list(page.items)
    while page.next_page_token:
        page = page_in_memory(items, str, scope="s", limit=4, page_token=page.next_page_token)
        seen += page.items
    assert seen == items
    with pytest.raises(InvalidArgument):
        page_in_memory(items, str, scope="other", limit=4, page_token=_token({"v": 1}))
