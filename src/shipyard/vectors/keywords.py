"""Keyword ranking for hybrid queries: BM25 over an index's text column (SQLite FTS5).

A ``KeywordIndex`` holds one table version's ``(id, text, filterable values)`` rows in
an in-memory FTS5 table; ``search`` answers the ids that contain any of the query's
words, best BM25 first, among the rows matching a filter. The query text is cut into
words and each is quoted, so FTS5 syntax in it (``NEAR``, ``*``, quotes, column
filters) is searched for as plain words, never interpreted.

``fuse`` combines a vector ranking and a keyword ranking by reciprocal rank fusion
(Cormack et al., 2009): ``score = sum over rankings of 1 / (60 + rank)``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.vectors.backends.base import Filter, filter_values

#: The constant of reciprocal rank fusion (the paper's, and what most engines use).
RRF_K = 60
MAX_TEXT = 1000
_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_WORDS = 32


def words(text: str) -> list[str]:
    """The searchable words of a query (``InvalidArgument`` if none or too long)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise InvalidArgument(f"text must be a string of at most {MAX_TEXT} characters")
    found = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:_MAX_WORDS]
    if not found:
        raise InvalidArgument("text has no words to search for")
    return found


class KeywordIndex:
    """BM25 over one version of a text column, with the index's filterable values."""

    def __init__(
        self, ids: Sequence[Any], texts: Sequence[str | None], attrs: dict[str, list[Any]]
    ) -> None:
        self._ids = list(ids)
        self._attrs = attrs
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='unicode61')")
        self._db.executemany(
            "INSERT INTO docs(rowid, body) VALUES (?, ?)",
            ((n, t or "") for n, t in enumerate(texts)),
        )

    def search(self, text: str, n: int, filter: Filter | None = None) -> list[Any]:
        """Up to ``n`` ids containing any word of ``text``, best first, matching ``filter``."""
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words(text))
        allowed = {c: set(filter_values(v)) for c, v in (filter or {}).items()}
        out: list[Any] = []
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank", (match,)
            )
            for (row,) in rows:
                if all(self._attrs[c][row] in vals for c, vals in allowed.items()):
                    out.append(self._ids[row])
                    if len(out) >= n:
                        break
        return out

    def close(self) -> None:
        self._db.close()


def fuse(rankings: Sequence[Sequence[Any]], k: int) -> tuple[list[Any], list[float]]:
    """The ``k`` best ids by reciprocal rank fusion, and their scores (higher is better)."""
    scores: dict[Any, float] = {}
    for ranking in rankings:
        for rank, id_ in enumerate(ranking, start=1):
            scores[id_] = scores.get(id_, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(scores.items(), key=lambda kv: -kv[1])[:k]
    return [i for i, _ in best], [s for _, s in best]
