"""Common-term pruning: what keeps BM25 fast when a query word is in a large share of a big library.

FTS5 scores every window that holds any term of an OR query, so one word found in 100,000 windows costs
more than the rest of the search. Lucene's
common-terms query answers this, and so does this module: when a query mixes *rare* terms (in at most
``COMMON_TERM_WINDOWS`` windows) with *common* ones, only windows holding a rare term are candidates, and the
common terms still count in their scores::

    ("rare1" OR "rare2") AND ("rare1" OR "rare2" OR "common")

A window with only the common words would have scored low anyway: BM25 gives a word in 1 window out of 50 a
small weight. FTS5's bm25() sums over the phrases of the expression, so the rare terms, named twice, weigh
twice: among candidates that all hold a rare term that only lowers the common words' say further.
On the synthetic 1 M-window library (benchmarks/bench_keyword_pruning.py, two runs, 200 queries): keyword
search p50 14-16 -> 10-14 ms, p95 59-83 -> 33-44 ms; the same top 10 for 165 of 200 queries (overlap 0.91).

A library of at most ``COMMON_TERM_WINDOWS`` windows never prunes (no term can be common), so small libraries
rank exactly as before; nor does a query whose words are all common or all rare.

Window counts come from FTS5's own vocabulary table, so the terms must be tokenized exactly as the index
tokenized the windows (Porter stems): a scratch FTS5 table in the connection's ``temp`` schema with the same
tokenizer does that, rather than a Python stemmer that could disagree with SQLite's on some words.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from atlas.index.compounds import respellings
from atlas.index.sqlite.ranges import total_windows
from atlas.index.sqlite.rows import fts_query

COMMON_TERM_WINDOWS = 20_000  # a term in more windows than this is "common" (2 % of 1 M)
FTS_TOKENIZER = "porter unicode61"  # as in schema's windows_fts (a test keeps them equal)

_SCRATCH = "temp.atlas_query_terms"
_SCRATCH_VOCAB = "temp.atlas_query_tokens"
_WINDOWS_VOCAB = "temp.atlas_windows_vocab"


def keyword_match(conn: sqlite3.Connection, terms: Sequence[str]) -> str | None:
    """The FTS5 MATCH expression for ``terms`` and their other spellings (``compounds``): all of them OR-ed,
    restricted to windows that hold a rare term when the query has both rare and common ones. None when no
    term is left."""
    try:
        counts = window_counts(conn, terms)
    except sqlite3.OperationalError:  # an SQLite built without fts5vocab: the terms as typed, plain OR
        return fts_query(terms)
    extra = respellings(terms, counts, lambda asked: window_counts(conn, asked))
    terms = [*terms, *extra]
    match = fts_query(terms)
    if match is None or len(terms) < 2 or total_windows(conn) <= COMMON_TERM_WINDOWS:
        return match
    if extra:  # counted only where pruning reads them
        counts = {**counts, **window_counts(conn, extra)}
    present = [term for term in terms if counts[term] > 0]
    rare = [term for term in present if counts[term] <= COMMON_TERM_WINDOWS]
    if not rare or len(rare) == len(present):
        return match
    return f"({fts_query(rare)}) AND ({match})"


def window_counts(conn: sqlite3.Connection, terms: Sequence[str]) -> dict[str, int]:
    """How many windows hold each term (a term the tokenizer splits in several tokens, like "don't", counts
    as its rarest token: a phrase is never in more windows than any of its words)."""
    _create_scratch(conn)
    conn.execute(f"DELETE FROM {_SCRATCH}")
    conn.executemany(f"INSERT INTO {_SCRATCH} (rowid, text) VALUES (?, ?)", enumerate(terms))
    tokens: dict[int, set[str]] = {}
    for rowid, token in conn.execute(f"SELECT doc, term FROM {_SCRATCH_VOCAB}"):
        tokens.setdefault(int(rowid), set()).add(str(token))
    conn.execute(f"DELETE FROM {_SCRATCH}")
    counts: dict[str, int] = {}
    for index, term in enumerate(terms):
        found = [_windows_with(conn, token) for token in tokens.get(index, ())]
        counts[term] = min(found) if found else 0
    return counts


def _windows_with(conn: sqlite3.Connection, token: str) -> int:
    row = conn.execute(f"SELECT doc FROM {_WINDOWS_VOCAB} WHERE term = ?", (token,)).fetchone()
    return int(row[0]) if row else 0


def _create_scratch(conn: sqlite3.Connection) -> None:
    # In ``temp``: per connection, never written to the library file, gone when the connection closes.
    create = "CREATE VIRTUAL TABLE IF NOT EXISTS"
    conn.execute(f"{create} {_SCRATCH} USING fts5(text, tokenize = '{FTS_TOKENIZER}')")
    conn.execute(f"{create} {_SCRATCH_VOCAB} USING fts5vocab(temp, atlas_query_terms, instance)")
    conn.execute(f"{create} {_WINDOWS_VOCAB} USING fts5vocab(main, windows_fts, row)")
