"""The embedded store: one SQLite file (source of truth, BM25 via FTS5) plus an HNSW sidecar for vectors.

Layout and durability: see ``schema``. Sidecar files: see ``ann``.

Threads: each thread gets its own connection (WAL lets readers run beside the one writer, and a reader only
ever sees committed videos). The in-memory HNSW index is shared and guarded by one lock; a search holds it for
well under a millisecond.

The sidecar follows the database by *generation*: every write transaction bumps ``meta.generation`` and stamps
the windows it inserts (``windows.gen``) and the ids it deletes (``removed_windows.gen``). At open and before
each vector search, if the database generation moved (this process or another one wrote), the sidecar applies
just that delta, read in one snapshot. A sidecar that is missing, unreadable, for another dimension or
library, or that does not add up is rebuilt from SQLite. The sidecar is saved at ``flush()``/``close()``: a
crash before that costs a catch-up at the next open, never a wrong result.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from atlas.errors import (
    AtlasError,
    DiskFullError,
    LibraryCorruptError,
    LibraryMismatchError,
    NotFoundError,
    as_disk_full,
)
from atlas.index.ann import AnnIndex
from atlas.index.base import Candidate, IndexIdentity, StoredWindow, Vectors, VideoRecord
from atlas.index.sqlite import search as sqlite_search
from atlas.index.sqlite import sidecar as sqlite_sidecar
from atlas.index.sqlite.ranges import Ranges, total_windows
from atlas.index.sqlite.readonly import is_read_only, read_only_error
from atlas.index.sqlite.rows import (
    SENTENCE_COLUMNS,
    SENTENCE_DTYPE,
    VIDEO_COLUMNS,
    WINDOW_DTYPE,
    RecordRows,
    filter_sql,
    from_blobs,
    read_record,
    sentence_from_row,
    stored_windows,
    video_columns,
    video_from_row,
    window_columns,
)
from atlas.index.sqlite.schema import (
    DB_NAME,
    bump_generation,
    check_database,
    connect,
    generation,
    get_meta,
    identity_json,
    identity_mismatch,
    open_or_create,
    read_identity,
    set_meta,
)
from atlas.index.sqlite.terms import keyword_match
from atlas.models import SearchFilters, Sentence, Video

_SEE_IDS = "see the ids with: atlas list"


class SqliteIndex:
    """The default ``Index``: a library directory holding ``atlas.db`` and the HNSW sidecar files."""

    def __init__(
        self,
        directory: Path,
        *,
        ann_dtype: str = "f16",
        exact_limit: int | None = None,
    ) -> None:
        """``exact_limit``: filtered vector search is exact brute force up to this many windows and HNSW
        over-fetch above; None (default) picks by a measured cost model (``exact_is_cheaper``)."""
        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise LibraryCorruptError(f"{directory} is a file, not a library directory")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.db_path = directory / DB_NAME
        self.exact_limit = exact_limit
        # A backup or a read-only mount: reads work, every write fails first (readonly).
        self.read_only = is_read_only(directory, self.db_path)
        self._ann_dtype = ann_dtype
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._ann_lock = threading.RLock()
        # Loaded (and reconciled with the database) on first use, not at open: at 1M windows loading takes
        # ~2 s and ~1 GiB, which `atlas list` or an ingest that never searches should not pay.
        self._ann: AnnIndex | None = None
        self._wrote = False
        self._closed = False
        try:
            self._library = open_or_create(self._conn(), self.db_path)
        except BaseException:
            self._close_connections()
            raise

    # -- connections and transactions ------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise AtlasError(f"the library at {self.directory} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.db_path, read_only=self.read_only)
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One snapshot for several statements (nested use joins the outer one)."""
        conn = self._conn()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _write(self, action: str = "cannot change it") -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise read_only_error(self.directory, action)
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no deadlock on a read->write upgrade
            try:
                yield conn
            except BaseException:
                # SQLite may have rolled back already (it does on SQLITE_FULL): a second ROLLBACK would
                # replace the real error with "no transaction is active".
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            full = as_disk_full(exc, self.directory)
            if full is None:
                raise
            raise full from exc

    # -- identity --------------------------------------------------------------------------------------------

    def identity(self) -> IndexIdentity | None:
        return read_identity(self._conn())

    def generation(self) -> int:
        """The write counter: every committed write, by this process or another, moves it (search caches
        are keyed by it)."""
        return generation(self._conn())

    def claim(self, identity: IndexIdentity) -> None:
        with self._write("cannot add videos to it") as conn:
            current = read_identity(conn)
            if current == identity:
                return
            if current is not None and conn.execute("SELECT 1 FROM videos LIMIT 1").fetchone():
                raise identity_mismatch(current, identity, self.directory)
            # A new (or still empty) library takes this identity; a sidecar of another dim gets rebuilt.
            set_meta(conn, "identity", json.dumps(identity_json(identity), sort_keys=True))

    def _require_identity(self, conn: sqlite3.Connection) -> IndexIdentity:
        identity = read_identity(conn)
        if identity is None:
            raise LibraryMismatchError(
                f"the library at {self.directory} has no recorded embedder yet",
                hint="claim() the library with the embedder's identity before adding videos",
            )
        return identity

    # -- writes ----------------------------------------------------------------------------------------------

    def put_video(self, record: VideoRecord) -> None:
        dim = self._require_identity(self._conn()).dim
        rows = RecordRows.prepare(record, dim)  # validates: bad input fails before the transaction
        self._wrote = True
        try:
            with self._write("cannot add videos to it") as conn:
                if self._require_identity(conn).dim != dim:  # re-claimed by another process meanwhile
                    raise LibraryMismatchError(f"the library at {self.directory} changed embedder meanwhile")
                gen = bump_generation(conn)  # first: the delete trigger logs removed ids with this generation
                # The old version's rows go by cascade; the triggers drop them from FTS and log their ids.
                conn.execute("DELETE FROM videos WHERE video_id = ?", (record.video.video_id,))
                rows.insert(conn, gen)
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"video {record.video.video_id!r}: inconsistent record ({exc})") from exc

    def remove_video(self, video_id: str) -> bool:
        with self._write("cannot delete videos from it") as conn:
            self._wrote = True
            if conn.execute("SELECT 1 FROM videos WHERE video_id = ?", (video_id,)).fetchone() is None:
                return False
            bump_generation(conn)
            conn.execute("DELETE FROM videos WHERE video_id = ?", (video_id,))
        return True

    # -- reads -----------------------------------------------------------------------------------------------

    def content_hash(self, video_id: str) -> str | None:
        row = (
            self._conn().execute("SELECT content_hash FROM videos WHERE video_id = ?", (video_id,)).fetchone()
        )
        return None if row is None else str(row[0])

    def get_video(self, video_id: str) -> Video:
        row = (
            self._conn()
            .execute(f"SELECT {VIDEO_COLUMNS} FROM videos WHERE video_id = ?", (video_id,))
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"no video {video_id!r} in the library at {self.directory}", hint=_SEE_IDS)
        return video_from_row(row)

    def list_videos(self) -> list[Video]:
        """By title (case-insensitive), then id: the order a person scanning a list expects."""
        sql = f"SELECT {VIDEO_COLUMNS} FROM videos ORDER BY title COLLATE NOCASE, video_id"
        return [video_from_row(r) for r in self._conn().execute(sql)]

    def get_record(self, video_id: str) -> VideoRecord:
        with self._read() as conn:
            row = conn.execute("SELECT pk FROM videos WHERE video_id = ?", (video_id,)).fetchone()
            if row is None:
                raise NotFoundError(
                    f"no video {video_id!r} in the library at {self.directory}", hint=_SEE_IDS
                )
            return read_record(conn, int(row[0]), self._dim(conn))

    def iter_records(self) -> Iterator[VideoRecord]:
        """Every video, in insertion order, from one snapshot (a private connection: an export runs long and
        must not see, or block, writes made meanwhile)."""
        conn = connect(self.db_path, read_only=self.read_only)
        try:
            conn.execute("BEGIN")
            dim = self._dim(conn)
            pks = [int(r[0]) for r in conn.execute("SELECT pk FROM videos ORDER BY pk")]
            for pk in pks:
                yield read_record(conn, pk, dim)
        finally:
            conn.close()  # ends the read transaction

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            return {
                name: int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
                for name in ("videos", "windows", "sentences")
            }

    def windows(self, keys: Sequence[int]) -> list[StoredWindow]:
        if not keys:
            return []
        sql = (
            f"SELECT w.id, {window_columns('w')}, {video_columns('v')} FROM windows w"
            " JOIN videos v ON v.pk = w.video_pk WHERE w.id IN (SELECT value FROM json_each(?))"
        )
        return stored_windows(self._conn().execute(sql, (json.dumps([int(k) for k in keys]),)), keys)

    def window_vectors(self, keys: Sequence[int]) -> Vectors:
        with self._read() as conn:
            found = sqlite_search.fetch_vectors(conn, [int(k) for k in keys])
            dim = self._dim(conn)
        missing = [int(k) for k in keys if int(k) not in found]
        if missing:
            raise NotFoundError(f"no window with key(s) {missing[:10]} in the library at {self.directory}")
        return from_blobs([found[int(k)] for k in keys], WINDOW_DTYPE, dim)

    def sentences(self, video_id: str, first: int, last: int) -> tuple[list[Sentence], Vectors]:
        # A search reads this for each of ~40 shortlisted windows: one statement, no transaction and no
        # identity read when sentences come back (their blobs give the dimension). Profiled at 200k windows,
        # the pk lookup, BEGIN/COMMIT and the identity's JSON per call were ~5 ms of a ~40 ms search.
        conn = self._conn()
        rows = conn.execute(
            f"SELECT {SENTENCE_COLUMNS}, vector FROM sentences"
            " WHERE video_pk = (SELECT pk FROM videos WHERE video_id = ?) AND idx BETWEEN ? AND ?"
            " ORDER BY idx",
            (video_id, first, last),
        ).fetchall()
        if not rows:
            with self._read() as snapshot:
                held = snapshot.execute("SELECT 1 FROM videos WHERE video_id = ?", (video_id,)).fetchone()
                if held is None:
                    raise NotFoundError(
                        f"no video {video_id!r} in the library at {self.directory}", hint=_SEE_IDS
                    )
                return [], from_blobs([], SENTENCE_DTYPE, self._dim(snapshot))
        dim = len(rows[0][6]) // SENTENCE_DTYPE.itemsize
        return [sentence_from_row(r) for r in rows], from_blobs([r[6] for r in rows], SENTENCE_DTYPE, dim)

    def _dim(self, conn: sqlite3.Connection) -> int:
        identity = read_identity(conn)
        return identity.dim if identity is not None else 0

    # -- search ----------------------------------------------------------------------------------------------

    def keyword_search(self, terms: Sequence[str], k: int, filters: SearchFilters) -> list[Candidate]:
        if k <= 0:
            return []
        where, params = filter_sql(filters)
        with self._read() as conn:  # the term counts, the filter's id ranges and the match from one snapshot
            match = keyword_match(conn, terms)
            if match is None:
                return []
            rows = sqlite_search.keyword(conn, match, k, where, params, filters.speaker)
        # bm25() is lower-is-better (negative): negate it.
        return [Candidate(key=int(key), score=-float(score)) for key, score in rows]

    def vector_search(self, vector: Vectors, k: int, filters: SearchFilters) -> list[Candidate]:
        dim = self._dim(self._conn())
        if dim == 0:
            return []  # no embedder has claimed the library: nothing is stored
        query = sqlite_search.as_query(vector, dim, self.directory)
        if k <= 0:
            return []
        where, params = filter_sql(filters)
        ranges = None
        if not where and not filters.speaker:
            with self._read() as conn:
                everything = total_windows(conn)
                limit = sqlite_search.EXACT_BELOW if self.exact_limit is None else self.exact_limit
                if 0 < everything <= limit:
                    return sqlite_search.exact(conn, query, Ranges.select(conn, "1", []), k)
        if where or filters.speaker:
            with self._read() as conn:
                ranges = Ranges.select(conn, where, params, filters.speaker)
                if self.exact_limit is not None:
                    go_exact = ranges.windows <= self.exact_limit
                else:
                    go_exact = sqlite_search.exact_is_cheaper(ranges.windows, total_windows(conn), k)
                if go_exact:
                    return sqlite_search.exact(conn, query, ranges, k)
        with self._ann_lock:
            ann = self._sync_ann()
            if ann is None:
                return []
            keys = sqlite_search.ann_candidates(ann, query, k, ranges)
        if keys is None and ranges is not None:
            with self._read() as conn:
                return sqlite_search.exact(conn, query, ranges, k)
        return sqlite_search.rescore(self._conn(), query, keys or [], k)

    # -- the sidecar -----------------------------------------------------------------------------------------

    def _sync_ann(self) -> AnnIndex | None:
        """Bring the in-memory HNSW index to the database's generation. Call with ``_ann_lock`` held."""
        if self._ann is not None and generation(self._conn()) == self._ann.gen:
            return self._ann  # the common case: one primary-key read
        with self._read() as conn:  # one snapshot: the generation and its delta agree
            self._ann = sqlite_sidecar.sync(
                conn, self._ann, self.directory, self._library, self._ann_dtype, read_only=self.read_only
            )
        return self._ann

    def flush(self) -> None:
        """Catch the sidecar up and save it, then drop the removal log it covers."""
        if self.read_only:
            return  # a sidecar rebuilt in memory stays there
        with self._ann_lock:
            ann = self._sync_ann()
            if ann is None or not ann.dirty:
                return
            ann.save(self.directory, library=self._library)
            conn = self._conn()
            try:
                with self._write():
                    conn.execute("DELETE FROM removed_windows WHERE gen <= ?", (ann.gen,))
                    floor = max(ann.gen, int(get_meta(conn, "removed_floor") or 0))
                    set_meta(conn, "removed_floor", str(floor))
            except (sqlite3.OperationalError, DiskFullError):
                pass  # busy or full: pruning is housekeeping, the next flush does it

    def close(self) -> None:
        if self._closed:
            return
        try:
            # Save when the sidecar changed or this process wrote: an ingest pays for indexing its own
            # windows here, rather than the next search paying for it.
            with self._ann_lock:
                loaded_stale = self._ann is not None and (
                    self._ann.dirty or generation(self._conn()) != self._ann.gen
                )
                if loaded_stale or self._wrote:
                    self.flush()
        finally:
            self._close_connections()

    def _close_connections(self) -> None:
        self._closed = True
        self._ann = None
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()

    def __enter__(self) -> SqliteIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def verify(self) -> list[str]:
        """Consistency problems (empty when healthy): the SQLite file, its FTS index, and whether the vector
        index holds exactly the stored windows. ``atlas doctor`` lists them and exits 3 when there are any."""
        conn = self._conn()
        problems = check_database(conn)
        with self._ann_lock, self._read() as conn:
            ann = self._sync_ann()
            ids = np.asarray([r[0] for r in conn.execute("SELECT id FROM windows")], dtype=np.int64)
            if ann is None:
                return problems + ([f"no vector index for {len(ids)} windows"] if len(ids) else [])
            missing = ids[~ann.contains(ids)]
            if len(missing):
                problems.append(f"vector index lacks {len(missing)} windows, e.g. {missing[:5].tolist()}")
            if len(ann) != len(ids):
                problems.append(f"vector index holds {len(ann)} vectors for {len(ids)} windows")
        return problems
