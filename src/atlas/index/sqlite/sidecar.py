"""Keeping the HNSW sidecar (``ann``) in step with the SQLite store, by generation.

Every write transaction bumps ``meta.generation`` and stamps the windows it inserts (``windows.gen``) and the
ids it deletes (``removed_windows.gen``). ``sync`` brings a sidecar from its generation to the database's by
applying just that delta, read in the caller's snapshot so the generation and the delta agree. A sidecar that
cannot catch up (missing, unreadable, another dim or library, older than the pruned removal log, newer than
the database, or whose size does not add up) is rebuilt from SQLite, which is the source of truth.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from atlas.index.ann import AnnIndex
from atlas.index.sqlite.rows import WINDOW_DTYPE, from_blobs
from atlas.index.sqlite.schema import generation, get_meta, read_identity

_CHUNK = 50_000  # rows per batch when (re)building: bounded memory, big enough for usearch's threads


def sync(
    conn: sqlite3.Connection,
    ann: AnnIndex | None,
    directory: Path,
    library: str,
    dtype: str,
    *,
    read_only: bool = False,
) -> AnnIndex | None:
    """The sidecar brought to the database's generation, inside the caller's read snapshot: ``ann`` caught up
    when it can be, else the saved sidecar caught up, else a rebuild from SQLite. None before any claim.
    ``read_only``: a library Atlas may not write (loaded without its lock file, which may not exist)."""
    identity = read_identity(conn)
    if identity is None:
        return None
    gen, floor = generation(conn), int(get_meta(conn, "removed_floor") or 0)
    # An index older than the pruned removal log cannot catch up; one newer than the database (a restored
    # backup) never can.
    if ann is not None and ann.dim == identity.dim and floor <= ann.gen <= gen:
        catch_up(conn, ann, gen)
        return ann
    ann = AnnIndex.load(directory, library=library, dim=identity.dim, dtype=dtype, lock=not read_only)
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
