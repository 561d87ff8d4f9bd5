"""Keyword (BM25) and vector search over the PostgreSQL store. Filters are SQL over ``windows w``: the
video filters as a subquery over ``videos v``, the speaker filter as the windows holding one of its sentences.

Keyword search. ``ts_rank`` is not BM25 (no inverse document frequency), so the store keeps its own
statistics (``terms``: windows per lexeme; ``stats``: windows and tokens) in the same transactions as the rows
and scores with FTS5's BM25 (k1 = 1.2, b = 0.75, IDF ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6): the GIN
index finds the windows that hold a query word (each term a phrase, ``phraseto_tsquery``), and each one's
score sums its query lexemes' IDF times their saturated term frequency, read from the window's tsvector
positions. As in the SQLite store (``terms``), a query mixing rare and common words at
> ``COMMON_TERM_WINDOWS`` windows only takes windows holding a rare word as candidates.

Vector search returns exact cosine scores computed in numpy from the stored float32 vectors (as the SQLite
store does), so every path and both stores score a window the same:

* no filter: pgvector's HNSW index with ``hnsw.ef_search`` = max(2 k, 400). On the quality benchmark's
  library (805 windows, 167 queries, k = 60) ef_search 60 returned another top 60 than the SQLite store's
  HNSW for 72 queries, 120 for 12 and 240 for 2; the top 10 was the same from 120 on;
* a filter: pgvector 0.6 applies it *after* the ef_search HNSW candidates, so a selective filter would return
  fewer than k rows. When the filter keeps few windows (``exact_is_cheaper``) the scan is exact (the filter's
  windows found by index, their distances computed in the server); otherwise HNSW with ef_search raised to
  about 2 k / (share kept), and exact if that still returns fewer than k.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from atlas.index.base import Candidate, Vectors
from atlas.index.compounds import respellings
from atlas.index.postgres_schema import TS_CONFIG, Conn
from atlas.index.sqlite import search as sqlite_search
from atlas.index.sqlite.rows import check_date
from atlas.index.sqlite.search import _top
from atlas.index.sqlite.terms import COMMON_TERM_WINDOWS
from atlas.models import SearchFilters

K1 = 1.2
B = 0.75
MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search
# Below this many windows an exact scan costs a few milliseconds and, unlike pgvector's HNSW (whose random
# levels make each build a little different), gives the same top k every time (the SQLite store's bound).
EXACT_BELOW = sqlite_search.EXACT_BELOW
# pgvector's default is 40. Recall@10 of vector_search against brute force on bench_index_scale's synthetic
# libraries (`bench_store_latency.py --ef-sweep 100,200,400,800`, 50 queries): ef 100 gave 0.93 at 200k
# windows and 0.86 at 1M, ef 400 0.98 and 0.93 (ef 800: 0.98 / 0.94: the graph's own limit), for a few ms.
MIN_EF_SEARCH = 400


# Windows holding a sentence by the speaker (found through the ``sentences_speaker`` index on lower(speaker)).
_SPEAKER = (
    "w.id IN (SELECT sw.id FROM sentences s JOIN windows sw ON sw.video_pk = s.video_pk"
    " AND s.idx BETWEEN sw.first_sentence AND sw.last_sentence"
    " WHERE lower(s.speaker) = lower(%s) AND s.speaker IS NOT NULL)"
)


def filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """A WHERE fragment over ``windows w`` (empty when no filter): the video filters, then the speaker."""
    where, params = _video_sql(filters)
    clauses = [f"w.video_pk IN (SELECT v.pk FROM videos v WHERE {where})"] if where else []
    if filters.speaker:
        clauses.append(_SPEAKER)
        params.append(filters.speaker.replace("\x00", ""))  # PostgreSQL text cannot hold NUL
    return " AND ".join(clauses), params


def _video_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """A WHERE fragment over ``videos v`` (empty when no filter); lists go in as array parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters.video_ids:
        clauses.append("v.video_id = ANY(%s::text[])")
        params.append(list(filters.video_ids))
    if filters.channels:
        clauses.append("v.channel = ANY(%s::text[])")
        params.append(list(filters.channels))
    after = check_date(filters.after, "after")
    before = check_date(filters.before, "before")
    # Dates compare as YYYY-MM-DD strings; a video with no date is excluded by either bound.
    if after is not None:
        clauses.append("v.published >= %s")
        params.append(after)
    if before is not None:
        clauses.append("substr(v.published, 1, 10) <= %s")
        params.append(before)
    return " AND ".join(clauses), params


def _in_filter(where: str) -> str:
    return f" AND {where}" if where else ""


@dataclass(frozen=True, slots=True)
class QueryTerm:
    text: str
    lexemes: dict[str, int]  # lexeme -> windows holding it

    @property
    def windows(self) -> int:
        """A phrase is never in more windows than its rarest word."""
        return min(self.lexemes.values())


def query_terms(conn: Conn, schema: str, terms: Sequence[str]) -> list[QueryTerm]:
    """The terms that hold at least one lexeme, each with its lexemes' document frequencies."""
    cleaned: list[str] = []
    for raw in terms:
        term = raw.replace("\x00", " ").strip()  # PostgreSQL text cannot hold NUL
        if term and term not in cleaned:
            cleaned.append(term)
    if not cleaned:
        return []
    rows = conn.execute(
        f"SELECT t.ord, u.lexeme, coalesce(d.df, 0) FROM unnest(%s::text[]) WITH ORDINALITY t(term, ord)"
        f" CROSS JOIN LATERAL unnest(to_tsvector('{schema}.{TS_CONFIG}'::regconfig, t.term)) u"
        " LEFT JOIN terms d ON d.term = u.lexeme",
        (cleaned,),
    ).fetchall()
    found: dict[int, dict[str, int]] = {}
    for ord_, lexeme, df in rows:
        found.setdefault(int(ord_) - 1, {})[str(lexeme)] = int(df)
    return [QueryTerm(cleaned[i], found[i]) for i in sorted(found)]


def idf(df: int, total: int) -> float:
    value = math.log((total - df + 0.5) / (df + 0.5))
    return value if value > 0 else 1e-6  # as FTS5: a word in most windows still counts a little


def keyword(
    conn: Conn, schema: str, terms: Sequence[str], k: int, where: str, params: list[Any]
) -> list[Candidate]:
    """BM25 over window text, best first, ties by key. Call inside one read snapshot."""

    def windows_with(asked: Sequence[str]) -> dict[str, int]:
        return {t.text: t.windows for t in query_terms(conn, schema, asked)}

    chosen = query_terms(conn, schema, terms)
    extra = respellings(terms, {t.text: t.windows for t in chosen}, windows_with)
    if extra:
        chosen += query_terms(conn, schema, extra)
    if not chosen:
        return []
    total, tokens = conn.execute("SELECT windows, tokens FROM stats").fetchone()
    if not total:
        return []
    avg_len = max(float(tokens) / float(total), 1e-9)
    weights: dict[str, float] = {}
    for term in chosen:
        for lexeme, df in term.lexemes.items():
            weights[lexeme] = idf(df, int(total))
    phrase = f"phraseto_tsquery('{schema}.{TS_CONFIG}'::regconfig, %s)"
    match = " || ".join(phrase for _ in chosen)
    match_params: list[Any] = [t.text for t in chosen]
    present = [t for t in chosen if t.windows > 0]
    rare = [t for t in present if t.windows <= COMMON_TERM_WINDOWS]
    if total > COMMON_TERM_WINDOWS and len(chosen) > 1 and rare and len(rare) < len(present):
        # Only windows holding a rare word are candidates; the common words still add to their scores.
        match = " || ".join(phrase for _ in rare)
        match_params = [t.text for t in rare]
    sql = (
        "SELECT w.id, sum(q.weight * (cardinality(u.positions) * %s)"
        " / (cardinality(u.positions) + %s * (1 - %s + %s * w.n_tokens / %s))) AS score"
        " FROM windows w CROSS JOIN LATERAL unnest(w.tsv) u"
        " JOIN unnest(%s::text[], %s::float8[]) q(lexeme, weight) ON q.lexeme = u.lexeme"
        f" WHERE w.tsv @@ ({match}){_in_filter(where)}"
        " GROUP BY w.id ORDER BY score DESC, w.id LIMIT %s"
    )
    rows = conn.execute(
        sql,
        (
            K1 + 1,
            K1,
            B,
            B,
            avg_len,
            list(weights),
            list(weights.values()),
            *match_params,
            *params,
            k,
        ),
    ).fetchall()
    return [Candidate(key=int(key), score=float(score)) for key, score in rows]


def exact_is_cheaper(matching: int, total: int, k: int) -> bool:
    """Whether an exact scan over the ``matching`` windows beats HNSW with a raised ef_search: always when the
    ef_search a filter would need (2 k total / matching) passes pgvector's bound, and below a few thousand
    windows, where computing every distance in the server costs less than walking the graph."""
    return matching <= 5_000 or 2 * max(k, 10) * total / max(matching, 1) > MAX_EF_SEARCH


def as_array(value: Any) -> Vectors:
    """A pgvector value (``pgvector.Vector``) as a float32 array."""
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else value, dtype=np.float32)


def rescore(query: Vectors, rows: Sequence[tuple[Any, Any]], k: int) -> list[Candidate]:
    """Exact cosine in numpy for (id, vector) rows: the same score the SQLite store gives."""
    if not rows:
        return []
    keys = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.stack([as_array(r[1]) for r in rows])
    return _top(keys, matrix @ query, k)


def hnsw(
    conn: Conn, query: Vectors, k: int, where: str, params: list[Any], ef_search: int
) -> list[Candidate]:
    """HNSW top-k (post-filtered by ``where``); call inside a transaction (ef_search is set for it only)."""
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef_search),))
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(
            f"SELECT w.id, w.embedding FROM windows w WHERE true{_in_filter(where)}"
            " ORDER BY w.embedding <=> %s LIMIT %s",
            (*params, query, k),
        ).fetchall()
    return rescore(query, rows, k)


def exact(conn: Conn, query: Vectors, k: int, where: str, params: list[Any]) -> list[Candidate]:
    """Every window the filter keeps, nearest first. ``+ 0`` keeps the planner off the HNSW index (which
    would post-filter); the filter's windows are found through the video_pk index."""
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(
            f"SELECT w.id, w.embedding FROM windows w WHERE true{_in_filter(where)}"
            " ORDER BY (w.embedding <=> %s) + 0, w.id LIMIT %s",
            (*params, query, k),
        ).fetchall()
    return rescore(query, rows, k)


def matching_windows(conn: Conn, filters: SearchFilters) -> int:
    """How many windows a filter keeps: from the small videos table, unless it names a speaker."""
    if filters.speaker:
        where, params = filter_sql(filters)
        return int(conn.execute(f"SELECT count(*) FROM windows w WHERE {where}", params).fetchone()[0])
    where, params = _video_sql(filters)
    sql = f"SELECT coalesce(sum(v.n_windows), 0) FROM videos v WHERE {where or 'true'}"
    return int(conn.execute(sql, params).fetchone()[0])


def ef_for(k: int, share: float = 1.0) -> int:
    """The ef_search for a top k that should still hold k after a filter keeping ``share`` of the windows:
    twice the candidates needed (at least ``MIN_EF_SEARCH``), within pgvector's bound."""
    return max(MIN_EF_SEARCH, min(MAX_EF_SEARCH, math.ceil(2 * k / max(share, 1e-9))))
