"""Asset references round-trip; URLs never show their password; page tokens are checked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard._internal.paging import decode_offset_token, encode_offset_token, scope_digest
from shipyard.catalog.models import AssetRef
from shipyard.errors import InvalidArgument, mask_url

kinds = st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True)
names = st.text(
    st.characters(blacklist_characters="@", blacklist_categories=("Cs",)), min_size=1, max_size=60
)


@given(kinds, names, st.none() | st.integers(min_value=0, max_value=10**9))
def test_asset_ref_round_trips(kind: str, name: str, version: int | None) -> None:
    ref = AssetRef(kind=kind, name=name, version=version)
    assert AssetRef.parse(str(ref)) == ref


@pytest.mark.parametrize("text", ["nokind", ":name", "table:", "table:x@v1", "table:x@"])
def test_bad_refs_are_invalid_argument(text: str) -> None:
    if text == "table:x@":  # an empty version means "latest"
        assert AssetRef.parse(text).version is None
        return
    with pytest.raises(InvalidArgument):
        AssetRef.parse(text)


@given(
    st.text(
        st.characters(blacklist_characters="/?#@[]", blacklist_categories=("Cs", "Cc", "Zs")),
        min_size=1,
        max_size=40,
    )
)
def test_mask_url_hides_any_password(password: str) -> None:
    url = f"postgresql://shipyard:{password}@db.internal:5432/meta"
    assert mask_url(url) == "postgresql://shipyard:***@db.internal:5432/meta"


def test_mask_url_leaves_passwordless_urls_alone() -> None:
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"


@given(st.integers(min_value=0, max_value=10**12))
def test_page_tokens_round_trip(offset: int) -> None:
    digest = scope_digest("test", {"q": 1})
    assert decode_offset_token(encode_offset_token(offset, digest), digest) == offset


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "eDox",
        encode_offset_token(3, scope_digest("test")).replace("e", "x"),
        encode_offset_token(3, scope_digest("other")),
        encode_offset_token(-1, scope_digest("test")),
    ],
)
def test_tampered_page_tokens_are_invalid(token: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid page token"):
        decode_offset_token(token, scope_digest("test"))
