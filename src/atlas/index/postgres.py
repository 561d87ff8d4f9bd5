"""The shared store: one PostgreSQL database with pgvector (HNSW, cosine) and full text (GIN over tsvector).

Selected by ``--store postgresql://user@host/db`` or ``ATLAS_STORE``. Schema, migrations and checks:
``postgres_schema``; search: ``postgres_search``.

Writes. Every write is one transaction that first takes the library's write lock (a transaction-level
advisory lock), so two processes (or hosts) ingesting at once never interleave a video and the same video
ingested twice at once ends as one copy (the second replaces the first; ``videos.video_id`` is UNIQUE as a
second guard). One lock rather than one per video: each video also updates the shared BM25 statistics
(``terms`` rows for common words like "the" that every video holds), so writers would queue on those rows
anyway, and one lock taken first cannot deadlock. A write holds it for the inserts only (milliseconds);
transcribing and embedding, the slow part of an ingest, run outside it.

Reads. Single statements see one committed state; reads of several statements (a record, a keyword search
with its statistics) run in a REPEATABLE READ, READ ONLY transaction: readers never see half a video.

Threads: each thread gets its own connection.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from atlas.errors import AtlasError, LibraryMismatchError, NotFoundError
from atlas.index import postgres_search as search
from atlas.index.base import Candidate, IndexIdentity, StoredWindow, Vectors, VideoRecord
from atlas.index.postgres_schema import (
    DEFAULT_SCHEMA,
    Conn,
    check_database,
    check_schema_name,
    connect,
    lock_key,
    open_or_migrate,
    read_identity,
    redact,
    set_dimension,
    set_meta,
)
from atlas.index.sqlite.rows import (
    SENTENCE_COLUMNS,
    SENTENCE_DTYPE,
    VIDEO_COLUMNS,
    RecordRows,
    from_blobs,
    segment_from_row,
    sentence_from_row,
    stored_windows,
    video_columns,
    video_from_row,
    window_columns,
    window_from_row,
)
from atlas.index.sqlite.schema import identity_json, identity_mismatch
from atlas.index.sqlite.search import as_query
from atlas.models import SearchFilters, Sentence, Transcript, Video

_SEE_IDS = "see the ids with: atlas list"
_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class PostgresIndex:
    """An ``Index`` in a PostgreSQL database (schema ``schema``, default ``atlas``)."""

    def __init__(
        self,
        url: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        create: bool = True,
        exact_limit: int | None = None,
    ) -> None:
        """``exact_limit``: vector search is an exact scan up to this many windows (matching the filter, or in
        the library when unfiltered) and HNSW above; None (default) picks by
        ``postgres_search.exact_is_cheaper`` with a filter and ``EXACT_BELOW`` without one."""
        self.url = url
        self.schema = check_schema_name(schema)
        self.exact_limit = exact_limit
        self.where = f"{redact(url)} (schema {schema})"
        self._local = threading.local()
        self._conns: list[Conn] = []
        self._conns_lock = threading.Lock()
        self._closed = False
        conn = self._conn()
        try:
            self.library_id = open_or_migrate(conn, url, self.schema, create=create)
            # The first connection may predate the extension: connect again now that the types exist.
            conn.close()
            self._local.conn = None
            with self._conns_lock:
                self._conns.remove(conn)
        except BaseException:
            self._close_connections()
            raise

    # -- connections and transactions ------------------------------------------------------------------------

    read_only = False  # a database user without write grants fails at its first write instead

    def _conn(self) -> Conn:
        if self._closed:
            raise AtlasError(f"the library in {self.where} is closed")
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = connect(self.url, self.schema)
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Conn]:
        """One snapshot for several statements (nested use joins the outer one)."""
        conn = self._conn()
        if getattr(self._local, "in_transaction", False):
            yield conn
            return
        conn.execute(_READ)
        self._local.in_transaction = True
        try:
            yield conn
        finally:
            self._local.in_transaction = False
            conn.execute("ROLLBACK")  # read only: nothing to keep

    @contextlib.contextmanager
    def _write(self) -> Iterator[Conn]:
        """One read-committed transaction holding the library's write lock (each statement sees what the
        writers before it committed)."""
        conn = self._conn()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock_key(self.schema, "write"),))
            yield conn

    # -- identity --------------------------------------------------------------------------------------------

    def identity(self) -> IndexIdentity | None:
        return read_identity(self._conn(), self.schema)

    def claim(self, identity: IndexIdentity) -> None:
        if self.identity() == identity:
            return  # the common case, without taking the write lock
        with self._write() as conn:
            current = read_identity(conn, self.schema)
            if current == identity:
                return
            if current is not None and conn.execute("SELECT 1 FROM videos LIMIT 1").fetchone():
                raise identity_mismatch(current, identity, self.where)  # type: ignore[arg-type]
            if current is None or current.dim != identity.dim:
                set_dimension(conn, identity.dim)  # the library is empty: no windows to convert
            set_meta(conn, self.schema, "identity", json.dumps(identity_json(identity), sort_keys=True))

    def _require_identity(self, conn: Conn) -> IndexIdentity:
        identity = read_identity(conn, self.schema)
        if identity is None:
            raise LibraryMismatchError(
                f"the library in {self.where} has no recorded embedder yet",
                hint="claim() the library with the embedder's identity before adding videos",
            )
        return identity

    # -- writes ----------------------------------------------------------------------------------------------

    def put_video(self, record: VideoRecord) -> None:
        dim = self._require_identity(self._conn()).dim
        rows = RecordRows.prepare(record, dim)  # validates: bad input fails before the transaction
        vectors = np.ascontiguousarray(record.window_vectors, dtype=np.float32).reshape(
            len(record.windows), dim
        )
        import psycopg

        try:
            with self._write() as conn:
                if self._require_identity(conn).dim != dim:  # re-claimed by another process meanwhile
                    raise LibraryMismatchError(f"the library in {self.where} changed embedder meanwhile")
                self._delete(conn, record.video.video_id)
                self._insert(conn, rows, vectors)
        except psycopg.errors.IntegrityError as exc:
            raise ValueError(f"video {record.video.video_id!r}: inconsistent record ({exc})") from exc

    def _insert(self, conn: Conn, rows: RecordRows, vectors: Vectors) -> None:
        video = list(rows.video)
        video[10] = bool(video[10])  # timed
        marks = ", ".join(["%s"] * len(video))
        pk = conn.execute(
            f"INSERT INTO videos ({VIDEO_COLUMNS}, origin, language, added_at, n_windows)"
            f" VALUES ({marks}, %s) RETURNING pk",
            (*video, len(rows.windows)),
        ).fetchone()[0]
        with conn.cursor() as cur:
            cur.executemany(
                'INSERT INTO segments (video_pk, idx, start, "end", text, words, speaker)'
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(pk, *row) for row in rows.segments],
            )
            cur.executemany(
                'INSERT INTO sentences (video_pk, idx, start, "end", text, position, vector, speaker)'
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(pk, *row) for row in rows.sentences],
            )
            cur.executemany(
                'INSERT INTO windows (video_pk, idx, start, "end", text, first_sentence, last_sentence,'
                " embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",  # a trigger sets tsv and n_tokens
                [(pk, *row[:-1], vector) for row, vector in zip(rows.windows, vectors, strict=True)],
            )
        if rows.windows:
            self._count_terms(conn, pk, +1)

    def _count_terms(self, conn: Conn, pk: int, sign: int) -> None:
        """Add (+1) or take away (-1) one video's windows from the BM25 statistics. Lexemes go in sorted
        order, so concurrent writers (if the write lock were ever split) would lock rows in one order."""
        per_video = (
            "SELECT u.lexeme AS term, count(*) AS n FROM windows w CROSS JOIN LATERAL unnest(w.tsv) u"
            " WHERE w.video_pk = %s GROUP BY u.lexeme ORDER BY u.lexeme"
        )
        if sign > 0:
            conn.execute(
                f"INSERT INTO terms (term, df) {per_video}"
                " ON CONFLICT (term) DO UPDATE SET df = terms.df + excluded.df",
                (pk,),
            )
        else:
            gone = conn.execute(
                f"UPDATE terms t SET df = t.df - d.n FROM ({per_video}) d WHERE t.term = d.term"
                " RETURNING t.term, t.df",
                (pk,),
            ).fetchall()
            empty = [term for term, df in gone if df <= 0]
            if empty:
                conn.execute("DELETE FROM terms WHERE term = ANY(%s::text[])", (empty,))
        conn.execute(
            "UPDATE stats SET windows = windows + %s * w.n, tokens = tokens + %s * w.t"
            " FROM (SELECT count(*) AS n, coalesce(sum(n_tokens), 0) AS t FROM windows"
            " WHERE video_pk = %s) w",
            (sign, sign, pk),
        )

    def _delete(self, conn: Conn, video_id: str) -> bool:
        """Inside a write transaction: drop a video, its rows (by cascade) and its share of the statistics."""
        row = conn.execute("SELECT pk FROM videos WHERE video_id = %s", (video_id,)).fetchone()
        if row is None:
            return False
        self._count_terms(conn, int(row[0]), -1)
        conn.execute("DELETE FROM videos WHERE pk = %s", (row[0],))
        return True

    def remove_video(self, video_id: str) -> bool:
        with self._write() as conn:
            return self._delete(conn, video_id)

    # -- reads -----------------------------------------------------------------------------------------------

    def content_hash(self, video_id: str) -> str | None:
        row = (
            self._conn()
            .execute("SELECT content_hash FROM videos WHERE video_id = %s", (video_id,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def _missing(self, video_id: str) -> NotFoundError:
        return NotFoundError(f"no video {video_id!r} in the library in {self.where}", hint=_SEE_IDS)

    def get_video(self, video_id: str) -> Video:
        row = (
            self._conn()
            .execute(f"SELECT {VIDEO_COLUMNS} FROM videos WHERE video_id = %s", (video_id,))
            .fetchone()
        )
        if row is None:
            raise self._missing(video_id)
        return video_from_row(row)

    def list_videos(self) -> list[Video]:
        """By title (case-insensitive), then id, in code-point order (as the SQLite store lists them)."""
        sql = f'SELECT {VIDEO_COLUMNS} FROM videos ORDER BY lower(title) COLLATE "C", video_id COLLATE "C"'
        return [video_from_row(r) for r in self._conn().execute(sql)]

    def get_record(self, video_id: str) -> VideoRecord:
        with self._read() as conn:
            row = conn.execute("SELECT pk FROM videos WHERE video_id = %s", (video_id,)).fetchone()
            if row is None:
                raise self._missing(video_id)
            return self._record(conn, int(row[0]), self._dim(conn))

    def _record(self, conn: Conn, pk: int, dim: int) -> VideoRecord:
        row = conn.execute(
            f"SELECT {VIDEO_COLUMNS}, origin, language FROM videos WHERE pk = %s", (pk,)
        ).fetchone()
        segments = tuple(
            segment_from_row(*r)
            for r in conn.execute(
                'SELECT text, start, "end", words, speaker FROM segments WHERE video_pk = %s ORDER BY idx',
                (pk,),
            )
        )
        sent_rows = conn.execute(
            f"SELECT {SENTENCE_COLUMNS}, vector FROM sentences WHERE video_pk = %s ORDER BY idx",
            (pk,),
        ).fetchall()
        with conn.cursor(binary=True) as cur:
            win_rows = cur.execute(
                f"SELECT {window_columns('windows')}, embedding FROM windows"
                " WHERE video_pk = %s ORDER BY idx",
                (pk,),
            ).fetchall()
        window_vectors = (
            np.stack([search.as_array(r[6]) for r in win_rows])
            if win_rows
            else np.zeros((0, dim), dtype=np.float32)
        )
        return VideoRecord(
            video=video_from_row(row),
            transcript=Transcript(segments=segments, origin=row[-2], language=row[-1]),
            sentences=tuple(sentence_from_row(r) for r in sent_rows),
            windows=tuple(window_from_row(r) for r in win_rows),
            sentence_vectors=from_blobs([bytes(r[6]) for r in sent_rows], SENTENCE_DTYPE, dim),
            window_vectors=window_vectors,
        )

    def iter_records(self) -> Iterator[VideoRecord]:
        """Every video, in insertion order, from one snapshot on a private connection (an export runs long
        and must not see writes made meanwhile)."""
        conn = connect(self.url, self.schema)
        try:
            conn.execute(_READ)
            dim = self._dim(conn)
            pks = [int(r[0]) for r in conn.execute("SELECT pk FROM videos ORDER BY pk")]
            for pk in pks:
                yield self._record(conn, pk, dim)
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
            " JOIN videos v ON v.pk = w.video_pk WHERE w.id = ANY(%s::bigint[])"
        )
        return stored_windows(self._conn().execute(sql, ([int(k) for k in keys],)), keys)

    def window_vectors(self, keys: Sequence[int]) -> Vectors:
        wanted = [int(k) for k in keys]
        with self._read() as conn, conn.cursor(binary=True) as cur:
            rows = cur.execute(
                "SELECT id, embedding FROM windows WHERE id = ANY(%s::bigint[])", (wanted,)
            ).fetchall()
            dim = self._dim(conn)
        found = {int(key): search.as_array(vector) for key, vector in rows}
        missing = [k for k in wanted if k not in found]
        if missing:
            raise NotFoundError(f"no window with key(s) {missing[:10]} in the library in {self.where}")
        if not wanted:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([found[k] for k in wanted])

    def sentences(self, video_id: str, first: int, last: int) -> tuple[list[Sentence], Vectors]:
        with self._read() as conn:
            row = conn.execute("SELECT pk FROM videos WHERE video_id = %s", (video_id,)).fetchone()
            if row is None:
                raise self._missing(video_id)
            rows = conn.execute(
                f"SELECT {SENTENCE_COLUMNS}, vector FROM sentences"
                " WHERE video_pk = %s AND idx BETWEEN %s AND %s ORDER BY idx",
                (row[0], first, last),
            ).fetchall()
            dim = self._dim(conn)
        vectors = from_blobs([bytes(r[6]) for r in rows], SENTENCE_DTYPE, dim)
        return [sentence_from_row(r) for r in rows], vectors

    def _dim(self, conn: Conn) -> int:
        identity = read_identity(conn, self.schema)
        return identity.dim if identity is not None else 0

    # -- search ----------------------------------------------------------------------------------------------

    def keyword_search(self, terms: Sequence[str], k: int, filters: SearchFilters) -> list[Candidate]:
        where, params = search.filter_sql(filters)  # validates dates first
        if k <= 0:
            return []
        with self._read() as conn:  # the statistics and the match from one snapshot
            return search.keyword(conn, self.schema, terms, k, where, params)

    def vector_search(self, vector: Vectors, k: int, filters: SearchFilters) -> list[Candidate]:
        where, params = search.filter_sql(filters)
        with self._read() as conn:
            dim = self._dim(conn)
            if dim == 0:
                return []  # no embedder has claimed the library: nothing is stored
            query = as_query(vector, dim, self.where)  # type: ignore[arg-type]
            if k <= 0:
                return []
            total = int(conn.execute("SELECT windows FROM stats").fetchone()[0])
            if not where:
                small = total <= (search.EXACT_BELOW if self.exact_limit is None else self.exact_limit)
                if k > search.MAX_EF_SEARCH or small:
                    return search.exact(conn, query, k, where, params)
                return search.hnsw(conn, query, k, where, params, search.ef_for(k))
            matching = search.matching_windows(conn, filters)
            if matching == 0:
                return []
            if self.exact_limit is not None:
                go_exact = matching <= self.exact_limit
            else:
                go_exact = search.exact_is_cheaper(matching, total, k)
            if not go_exact and k <= search.MAX_EF_SEARCH:
                found = search.hnsw(conn, query, k, where, params, search.ef_for(k, matching / max(total, 1)))
                if len(found) >= min(k, matching):
                    return found
            return search.exact(conn, query, k, where, params)

    # -- health and lifetime ---------------------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Consistency problems (empty when healthy): statistics, terms, full-text vectors, the HNSW index."""
        with self._read() as conn:
            return check_database(conn, self.schema, read_identity(conn, self.schema))

    def close(self) -> None:
        if not self._closed:
            self._close_connections()

    def _close_connections(self) -> None:
        self._closed = True
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()

    def __enter__(self) -> PostgresIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
