"""Vector search for the SQLite store, and keeping the HNSW sidecar in step with the database.

Three paths, all returning exact cosine scores computed from the float32 vectors in SQLite:

* no filter: HNSW top-k, rescored exactly;
* a filter that leaves at most ``exact_limit`` windows: brute force over just those windows (exact, and
  cheaper than a graph walk that would mostly meet windows the filter rejects);
* a broader filter: HNSW over-fetch, growing the fetch until enough candidates pass the filter (bounded by the
  index size), then rescored.

Rescoring the few HNSW candidates costs one indexed read of k rows (well under a millisecond at k=50) and
gives every path, and every backend, the same scores for the same window.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from atlas.errors import LibraryMismatchError
from atlas.index.ann import AnnIndex
from atlas.index.base import Candidate, Vectors
from atlas.index.sqlite_rows import WINDOW_DTYPE, from_blobs
from atlas.index.sqlite_schema import generation, get_meta, read_identity

_CHUNK = 50_000  # rows per batch when (re)building the sidecar: bounded memory, big enough for threads
_MAX_ROUNDS = 6  # over-fetch growth rounds (x4 each) before settling for what passed the filter


def as_query(vector: Vectors, dim: int, directory: Path) -> Vectors:
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    if query.shape[0] != dim:
        raise LibraryMismatchError(
            f"a {query.shape[0]}-dimension query cannot search the library at {directory} ({dim} dimensions)",
            hint="search with the embedder the library was built with",
        )
    norm = float(np.linalg.norm(query))
    return query / norm if norm > 0 else query


def filtered_ids(conn: sqlite3.Connection, where: str, params: list[Any], limit: int) -> list[int]:
    sql = f"SELECT w.id FROM windows w JOIN videos v ON v.pk = w.video_pk WHERE {where} LIMIT ?"
    return [int(r[0]) for r in conn.execute(sql, (*params, limit))]


def exact_search(
    conn: sqlite3.Connection, query: Vectors, where: str, params: list[Any], k: int
) -> list[Candidate]:
    sql = f"SELECT w.id, w.vector FROM windows w JOIN videos v ON v.pk = w.video_pk WHERE {where}"
    rows = conn.execute(sql, params).fetchall()
    if not rows:
        return []
    keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    sims = from_blobs([r[1] for r in rows], WINDOW_DTYPE, query.shape[0]) @ query
    return _top(keys, sims, k)


def ann_candidates(
    conn: sqlite3.Connection, ann: AnnIndex, query: Vectors, k: int, where: str, params: list[Any]
) -> list[int]:
    """HNSW candidate keys (best first); with a filter, only keys that pass it."""
    if not where:
        keys, _ = ann.search(query, k)
        return [int(x) for x in keys]
    count, passed = max(4 * k, 64), []
    for _ in range(_MAX_ROUNDS):
        keys, _ = ann.search(query, count)
        ok = set(_passing(conn, [int(x) for x in keys], where, params))
        passed = [int(x) for x in keys if int(x) in ok]
        if len(passed) >= k or count >= len(ann):
            break
        count = min(count * 4, len(ann))
    return passed[:k]


def _passing(conn: sqlite3.Connection, keys: list[int], where: str, params: list[Any]) -> list[int]:
    sql = (
        "SELECT w.id FROM windows w JOIN videos v ON v.pk = w.video_pk"
        f" WHERE w.id IN (SELECT value FROM json_each(?)) AND {where}"
    )
    return [int(r[0]) for r in conn.execute(sql, (json.dumps(keys), *params))]


def fetch_vectors(conn: sqlite3.Connection, keys: Sequence[int]) -> dict[int, bytes]:
    sql = "SELECT id, vector FROM windows WHERE id IN (SELECT value FROM json_each(?))"
    return {int(r[0]): r[1] for r in conn.execute(sql, (json.dumps(list(keys)),))}


def rescore(conn: sqlite3.Connection, query: Vectors, keys: list[int], k: int) -> list[Candidate]:
    """Exact cosine for HNSW candidates; keys deleted since the search (a concurrent replace) drop out."""
    found = fetch_vectors(conn, keys)
    present = [key for key in keys if key in found]
    if not present:
        return []
    sims = from_blobs([found[key] for key in present], WINDOW_DTYPE, query.shape[0]) @ query
    return _top(np.asarray(present, dtype=np.int64), sims, k)


def _top(keys: np.ndarray[Any, np.dtype[np.int64]], sims: Vectors, k: int) -> list[Candidate]:
    if len(keys) > k:
        part = np.argpartition(-sims, k - 1)[:k]
        keys, sims = keys[part], sims[part]
    order = np.lexsort((keys, -sims))  # best first; ties by key so results are deterministic
    return [Candidate(key=int(keys[i]), score=float(sims[i])) for i in order]


# -- the sidecar follows the database ------------------------------------------------------------------------


def sync(
    conn: sqlite3.Connection, ann: AnnIndex | None, directory: Path, library: str, dtype: str
) -> AnnIndex | None:
    """The sidecar brought to the database's generation, inside the caller's read snapshot: ``ann`` caught up
    when it can be, else the saved sidecar caught up, else a rebuild from SQLite. None before any claim."""
    identity = read_identity(conn)
    if identity is None:
        return None
    gen, floor = generation(conn), int(get_meta(conn, "removed_floor") or 0)
    # An index older than the pruned removal log cannot catch up; one newer than the database (a restored
    # backup) never can.
    if ann is not None and ann.dim == identity.dim and floor <= ann.gen <= gen:
        catch_up(conn, ann, gen)
        return ann
    ann = AnnIndex.load(directory, library=library, dim=identity.dim, dtype=dtype)
    if ann is not None and floor <= ann.gen <= gen:
        catch_up(conn, ann, gen)
        if len(ann) == int(conn.execute("SELECT count(*) FROM windows").fetchone()[0]):
            return ann
        # it does not add up: trust SQLite
    ann = AnnIndex(identity.dim, dtype)
    _add_rows(conn, ann, "SELECT id, vector FROM windows", ())  # a plain table scan, in id order
    ann.gen = gen
    ann.dirty = True
    return ann


def catch_up(conn: sqlite3.Connection, ann: AnnIndex, gen: int) -> None:
    """Apply the delta between ``ann.gen`` and ``gen`` (inside the caller's read snapshot)."""
    if ann.gen == gen:
        return
    removed = [int(r[0]) for r in conn.execute("SELECT id FROM removed_windows WHERE gen > ?", (ann.gen,))]
    ann.remove(np.asarray(removed, dtype=np.int64))
    _add_rows(conn, ann, "SELECT id, vector FROM windows WHERE gen > ? ORDER BY id", (ann.gen,))
    ann.gen = gen


def _add_rows(conn: sqlite3.Connection, ann: AnnIndex, sql: str, params: tuple[Any, ...]) -> None:
    cursor = conn.execute(sql, params)
    while rows := cursor.fetchmany(_CHUNK):
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        ann.add(keys, from_blobs([r[1] for r in rows], WINDOW_DTYPE, ann.dim))
