"""The online store contract: every backend passes this unchanged.

Subclass ``OnlineStoreContract`` and override the ``store`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.features.backends.base import OnlineStore


class OnlineStoreContract:
    @pytest.fixture
    def store(self) -> Iterator[OnlineStore]:
        raise NotImplementedError("subclasses provide the backend")

    def test_round_trip_and_missing_keys(self, store: OnlineStore) -> None:
        assert store.write("v:1", [("1", 100, b"a"), ("2", 200, b"bb")]) == 2
        assert store.read_one("v:1", "1") == (100, b"a")
        assert store.read_one("v:1", "3") is None
        assert store.read("v:1", ["2", "3", "1"]) == [(200, b"bb"), None, (100, b"a")]

    def test_duplicate_keys_in_a_read(self, store: OnlineStore) -> None:
        store.write("v:1", [("1", 1, b"x")])
        assert store.read("v:1", ["1", "1"]) == [(1, b"x"), (1, b"x")]
        assert store.read("v:1", []) == []

    def test_older_never_overwrites_newer(self, store: OnlineStore) -> None:
        store.write("v:1", [("1", 200, b"new")])
        assert store.write("v:1", [("1", 100, b"old")]) == 0
        assert store.read_one("v:1", "1") == (200, b"new")
        # an equal timestamp replaces (a corrected row for the same event time)
        assert store.write("v:1", [("1", 200, b"fix")]) == 1
        assert store.read_one("v:1", "1") == (200, b"fix")
        assert store.write("v:1", [("1", 300, b"newer")]) == 1
        assert store.read_one("v:1", "1") == (300, b"newer")

    def test_mixed_chunk_keeps_the_newest_per_key(self, store: OnlineStore) -> None:
        store.write("v:1", [(str(i), 1000, b"stored") for i in range(10)])
        rows = [(str(i), 1000 + (1 if i % 2 else -1), f"in{i}".encode()) for i in range(10)]
        assert store.write("v:1", rows) == 5
        got = store.read("v:1", [str(i) for i in range(10)])
        assert got == [(1001, f"in{i}".encode()) if i % 2 else (1000, b"stored") for i in range(10)]

    def test_namespaces_are_isolated(self, store: OnlineStore) -> None:
        store.write("a:1", [("1", 1, b"a")])
        store.write("b:1", [("1", 2, b"b")])
        assert store.read_one("a:1", "1") == (1, b"a")
        assert store.read_one("b:1", "1") == (2, b"b")
        assert store.delete_namespace("a:1") == 1
        assert store.read_one("a:1", "1") is None
        assert store.read_one("b:1", "1") == (2, b"b")

    def test_many_keys_in_chunks(self, store: OnlineStore) -> None:
        n = 5_000
        written = store.write("v:1", ((str(i), i, i.to_bytes(4, "little")) for i in range(n)))
        assert written == n
        keys = [str(i) for i in range(n - 1, -1, -7)]
        got = store.read("v:1", keys)
        assert got == [(int(k), int(k).to_bytes(4, "little")) for k in keys]

    def test_binary_values_and_odd_keys(self, store: OnlineStore) -> None:
        value = bytes(range(256))
        store.write("v:1", [("a\x1fb", 5, value), ("ü ✓", 6, b"\x00")])
        assert store.read("v:1", ["a\x1fb", "ü ✓"]) == [(5, value), (6, b"\x00")]

    def test_count(self, store: OnlineStore) -> None:
        if "count" not in store.capabilities:
            pytest.skip("backend declares no count capability")
        store.write("v:1", [(str(i), 1, b"x") for i in range(7)])
        assert store.count("v:1") == 7
        assert store.count("v:2") == 0

    def test_bulk_writes_keep_the_newest_per_key(self, store: OnlineStore) -> None:
        # Big enough for the bulk paths (one statement / pipelined chunk per many rows).
        n = 300
        keys = [f"k\x1f{i}'\"ü" for i in range(n)]
        assert store.write("v:1", [(k, 1000, b"stored") for k in keys[: n // 2]]) == n // 2
        rows = [
            (k, 1000 + (1 if i % 2 else -1), bytes([i % 256]) * (i % 5)) for i, k in enumerate(keys)
        ]
        # the first half: only odd ones are newer; the second half is new
        assert store.write("v:1", rows) == n // 4 + n // 2
        got = store.read("v:1", keys)
        want = [rows[i][1:] if (i % 2 or i >= n // 2) else (1000, b"stored") for i in range(n)]
        assert got == want

    def test_write_packed_keeps_the_newest_per_key(self, store: OnlineStore) -> None:
        n = 200
        keys = [str(i) for i in range(n)]
        store.write("v:1", [(k, 500, b"new!") for k in keys[:50]])
        blob = b"".join(i.to_bytes(4, "little") for i in range(n))
        assert store.write_packed("v:1", keys, [400] * n, blob, 4) == n - 50
        got = store.read("v:1", keys)
        assert got[:50] == [(500, b"new!")] * 50
        assert got[50:] == [(400, i.to_bytes(4, "little")) for i in range(50, n)]
        # equal timestamps replace
        assert store.write_packed("v:1", keys[:2], [500, 500], b"aaaabbbb", 4) == 2
        assert store.read("v:1", keys[:2]) == [(500, b"aaaa"), (500, b"bbbb")]

    def test_times_before_1970_order_like_numbers(self, store: OnlineStore) -> None:
        store.write("v:1", [("a", -5, b"neg")])
        assert store.read_one("v:1", "a") == (-5, b"neg")
        assert store.write("v:1", [("a", -10, b"older")]) == 0
        assert store.write("v:1", [("a", 3, b"pos")]) == 1
        assert store.write("v:1", [("a", -1, b"older")]) == 0
        assert store.read("v:1", ["a"]) == [(3, b"pos")]
        big = [str(i) for i in range(100)]  # the bulk paths too
        store.write("v:3", [(k, -(2**62), b"x") for k in big])
        assert store.write("v:3", [(k, -(2**62) - 1, b"y") for k in big]) == 0
        assert store.write_packed("v:3", big, [2**62] * 100, b"z" * 100, 1) == 100
        assert store.read("v:3", big[:2]) == [(2**62, b"z"), (2**62, b"z")]
