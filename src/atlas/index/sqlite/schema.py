"""The SQLite library file: schema, connection settings, opening checks and the ``meta`` table.

Durability: WAL with ``synchronous=FULL``. WAL+NORMAL survives a killed process but can drop the last
commits on power loss; FULL costs one fsync per committed video, which is noise next to transcribing and
embedding that video, so we take the stronger guarantee. Every write is one ``BEGIN IMMEDIATE`` transaction
(no lock-upgrade deadlock between two writers); readers use WAL snapshots and never see a half-written video.

Layout (``STORE_SCHEMA_VERSION`` 2; ``MIGRATIONS`` brings older files up to it when they are opened):

    meta             key/value: schema_version, library_id, identity (JSON), generation, removed_floor
    videos           one row per video; ``pk`` is internal, ``video_id`` is the public id. A video's windows
                     are inserted in one transaction, so their ids are the contiguous run
                     ``first_window .. first_window + n_windows - 1``: a filter becomes a few id ranges,
                     which FTS5 and the vector paths test without touching the windows table
    segments         the transcript (words as compact JSON, ``speaker`` where the transcript names one;
                     NULL in libraries from before schema 2), to give it back on export. Rowid tables, not
                     WITHOUT ROWID: rows of ~1 KB would spill to overflow pages there (measured 4x the disk)
    sentences        text + times + float16 vector: only used to pin a hit to its best sentence, where
                     half precision changes no ranking and halves the bytes; ``speaker`` (indexed,
                     case-insensitively) for the speaker filter and the hit's speaker
    windows          the searchable unit; ``id`` is the key handed to callers (AUTOINCREMENT: an id is never
                     reused, so a key or a sidecar entry can never silently point at another window);
                     float32 vector; ``gen`` = the generation that wrote it (the sidecar catches up by it)
    windows_fts      FTS5 (BM25) over windows.text, external content, kept in step by triggers inside the
                     same transaction as the rows
    removed_windows  ids deleted at generation ``gen``, so an HNSW sidecar can drop them; pruned up to
                     ``removed_floor`` once a saved sidecar covers them
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path

from atlas.errors import AtlasError, LibraryCorruptError, LibraryMismatchError
from atlas.index.base import IndexIdentity

DB_NAME = "atlas.db"
BUSY_TIMEOUT_S = 30.0  # how long a connection waits for another process's write lock

# The layout of the library file. Not ``IndexIdentity.schema_version``: that says how windows were built, and
# a migration that only adds columns leaves them as they were (so old libraries keep their identity).
STORE_SCHEMA_VERSION = 2

# MIGRATIONS[n] takes a version n-1 file to version n. Old rows keep NULL: no speaker named.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE segments ADD COLUMN speaker TEXT",
        "ALTER TABLE sentences ADD COLUMN speaker TEXT",
        "CREATE INDEX sentences_speaker ON sentences (speaker COLLATE NOCASE) WHERE speaker IS NOT NULL",
    ),
}

_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE videos (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT,
    channel TEXT,
    published TEXT,
    duration REAL,
    thumbnail TEXT,
    transcript_origin TEXT NOT NULL,
    timed INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    extra TEXT NOT NULL,
    origin TEXT NOT NULL,
    language TEXT,
    added_at REAL NOT NULL,
    first_window INTEGER,
    n_windows INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX videos_channel ON videos (channel);
CREATE INDEX videos_published ON videos (published);

CREATE TABLE segments (
    video_pk INTEGER NOT NULL REFERENCES videos (pk) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL,
    "end" REAL,
    text TEXT NOT NULL,
    words TEXT,
    speaker TEXT,
    UNIQUE (video_pk, idx)
);

CREATE TABLE sentences (
    video_pk INTEGER NOT NULL REFERENCES videos (pk) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL,
    "end" REAL,
    text TEXT NOT NULL,
    position INTEGER NOT NULL,
    vector BLOB NOT NULL,
    speaker TEXT,
    UNIQUE (video_pk, idx)
);
CREATE INDEX sentences_speaker ON sentences (speaker COLLATE NOCASE) WHERE speaker IS NOT NULL;

CREATE TABLE windows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    video_pk INTEGER NOT NULL REFERENCES videos (pk) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL,
    "end" REAL,
    text TEXT NOT NULL,
    first_sentence INTEGER NOT NULL,
    last_sentence INTEGER NOT NULL,
    gen INTEGER NOT NULL,
    vector BLOB NOT NULL,
    UNIQUE (video_pk, idx)
);
CREATE INDEX windows_gen ON windows (gen);

CREATE TABLE removed_windows (id INTEGER PRIMARY KEY, gen INTEGER NOT NULL);
CREATE INDEX removed_windows_gen ON removed_windows (gen);

CREATE VIRTUAL TABLE windows_fts USING fts5 (
    text, content = 'windows', content_rowid = 'id', tokenize = 'porter unicode61'
);

-- The FTS index and the removal log change in the same statement (hence transaction) as the rows. Deletes
-- cascading from videos fire these triggers too. Writers bump meta.generation first in the transaction.
CREATE TRIGGER windows_ai AFTER INSERT ON windows BEGIN
    INSERT INTO windows_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER windows_ad AFTER DELETE ON windows BEGIN
    INSERT INTO windows_fts (windows_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO removed_windows (id, gen)
        VALUES (old.id, (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'));
END;
-- Rows are replaced, never edited: an UPDATE would desynchronise the FTS index and the sidecar.
CREATE TRIGGER windows_bu BEFORE UPDATE ON windows BEGIN
    SELECT RAISE (ABORT, 'windows are immutable; replace the video instead');
END;
"""


def connect(db_path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """One connection with Atlas's settings. ``isolation_level=None``: we issue BEGIN/COMMIT ourselves.
    ``read_only``: opened through ``readonly.uri`` (no write, no file created beside the database)."""
    from atlas.index.sqlite.readonly import uri

    target = uri(db_path) if read_only else str(db_path)
    # ``timeout`` is SQLite's busy timeout: how long a statement waits for another process's lock.
    conn = sqlite3.connect(
        target, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S, uri=read_only
    )
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA cache_size = -32768")  # 32 MiB of page cache per connection
        conn.execute("PRAGMA temp_store = MEMORY")
        if read_only:
            conn.execute("PRAGMA query_only = ON")  # a write fails in SQLite even if a bug attempts one
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _corrupt(db_path, exc) from exc
    return conn


def _corrupt(db_path: Path, exc: Exception) -> LibraryCorruptError:
    return LibraryCorruptError(
        f"{db_path} is not a readable Atlas library ({exc})",
        hint="point Atlas at another library directory, or restore this file from a backup or export",
    )


def open_or_create(conn: sqlite3.Connection, db_path: Path) -> str:
    """Create the schema in an empty file or check an existing one; return the library's id."""
    try:
        # query_only: a read-only connection (readonly) must not even try.
        if not conn.execute("PRAGMA query_only").fetchone()[0]:
            _use_wal(conn, db_path)
        tables = _tables(conn)
        if tables:
            return _check_existing(conn, db_path, tables)
        if conn.execute("PRAGMA query_only").fetchone()[0]:
            from atlas.index.sqlite.readonly import read_only_error

            raise read_only_error(db_path.parent, "cannot create a library in it")
        # A new library: create it under the write lock, so two processes cannot both create it.
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = _tables(conn)
            if tables:
                library_id = _check_existing(conn, db_path, tables)
            else:
                library_id = uuid.uuid4().hex
                for statement in _split(_DDL):
                    conn.execute(statement)
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("schema_version", str(STORE_SCHEMA_VERSION)),
                        ("library_id", library_id),
                        ("generation", "0"),
                        ("removed_floor", "0"),
                    ],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as exc:
        raise _corrupt(db_path, exc) from exc
    return library_id


def _use_wal(conn: sqlite3.Connection, db_path: Path) -> None:
    """Put the database in WAL mode. WAL is persistent in the file, so this is a read of the mode except for
    a new library. Switching a new one needs an exclusive lock, and SQLite answers "database is locked" at
    once, without its busy timeout, when another process opening the same new library holds it (two
    `atlas ingest` started together): retry for as long as the busy timeout would have waited."""
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            # Fails on a file that is not a database; where WAL cannot be used, SQLite keeps the old mode.
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) != sqlite3.SQLITE_BUSY:
                raise
            if time.monotonic() > deadline:
                raise AtlasError(
                    f"{db_path} stayed locked by another process for {BUSY_TIMEOUT_S:.0f} s",
                    hint="wait for the other Atlas process on this library to finish, then run it again",
                ) from exc
            time.sleep(0.05)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _check_existing(conn: sqlite3.Connection, db_path: Path, tables: set[str]) -> str:
    if "meta" not in tables:
        raise LibraryCorruptError(
            f"{db_path} is a SQLite database but not an Atlas library (no 'meta' table)",
            hint="point Atlas at an empty directory or at a library it created",
        )
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    try:
        version = int(meta["schema_version"])
        library_id = str(meta["library_id"])
    except (KeyError, ValueError) as exc:
        raise LibraryCorruptError(f"{db_path}: the library's meta table is damaged ({exc!r})") from exc
    if version > STORE_SCHEMA_VERSION:
        raise LibraryMismatchError(
            f"{db_path} was written by a newer Atlas (library schema {version}); "
            f"this Atlas reads schema {STORE_SCHEMA_VERSION} at most",
            hint="upgrade Atlas to open this library",
        )
    if version < 1:
        raise LibraryCorruptError(f"{db_path}: unknown library schema {version}")
    if version < STORE_SCHEMA_VERSION:
        _migrate(conn, db_path)
    return library_id


def _migrate(conn: sqlite3.Connection, db_path: Path) -> None:
    """Bring an older library file up to ``STORE_SCHEMA_VERSION``, in one write transaction (a second process
    opening it at the same time finds it migrated once it has the lock)."""
    if conn.execute("PRAGMA query_only").fetchone()[0]:
        raise LibraryMismatchError(
            f"{db_path} was written by an older Atlas and must be upgraded, which needs write access",
            hint="open the library once with write access (any atlas command) to upgrade it",
        )
    outer = conn.in_transaction  # created under the caller's lock: migrate inside its transaction
    if not outer:
        conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(get_meta(conn, "schema_version") or 0)
        for target in range(version + 1, STORE_SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                conn.execute(statement)
            set_meta(conn, "schema_version", str(target))
        if not outer:
            conn.execute("COMMIT")
    except BaseException:
        if not outer:
            conn.execute("ROLLBACK")
        raise


def _split(script: str) -> list[str]:
    """Split the DDL into statements (``sqlite3.complete_statement`` keeps trigger bodies whole).

    ``executescript`` would COMMIT our open transaction first, so the schema is created statement by statement
    inside BEGIN IMMEDIATE.
    """
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def bump_generation(conn: sqlite3.Connection) -> int:
    """Inside a write transaction: the new generation, which every row written in it carries."""
    row = conn.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation' RETURNING value"
    ).fetchone()
    return int(row[0])


def generation(conn: sqlite3.Connection) -> int:
    return int(get_meta(conn, "generation") or 0)


def check_database(conn: sqlite3.Connection) -> list[str]:
    """Problems in the SQLite file itself (empty when healthy)."""
    problems: list[str] = []
    result = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        problems.append(f"integrity_check: {result[:5]}")
    if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
        problems.append("foreign_key_check: rows point at missing videos")
    # rank=1 also checks the FTS index against the windows table it indexes. The check is an INSERT command,
    # which a read-only connection refuses: there the row counts below are the FTS check.
    if not conn.execute("PRAGMA query_only").fetchone()[0]:
        try:
            conn.execute("INSERT INTO windows_fts (windows_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            problems.append(f"fts integrity-check: {exc}")
    bad_runs = conn.execute(
        "SELECT count(*) FROM videos v LEFT JOIN (SELECT video_pk, min(id) AS lo, max(id) AS hi,"
        " count(*) AS n FROM windows GROUP BY video_pk) w ON w.video_pk = v.pk"
        " WHERE v.n_windows != coalesce(w.n, 0)"
        " OR (w.n > 0 AND (v.first_window != w.lo OR w.hi - w.lo + 1 != w.n))"
    ).fetchone()[0]
    if bad_runs:
        problems.append(f"{bad_runs} videos whose window id run does not match their windows")
    n_windows = int(conn.execute("SELECT count(*) FROM windows").fetchone()[0])
    n_fts = int(conn.execute("SELECT count(*) FROM windows_fts_docsize").fetchone()[0])
    if n_fts != n_windows:
        problems.append(f"fts holds {n_fts} rows for {n_windows} windows")
    return problems


def identity_json(identity: IndexIdentity) -> dict[str, object]:
    return {
        "embedder": identity.embedder,
        "dim": identity.dim,
        "windows": dict(identity.windows),
        "schema_version": identity.schema_version,
    }


def read_identity(conn: sqlite3.Connection) -> IndexIdentity | None:
    raw = get_meta(conn, "identity")
    return None if raw is None else identity_from_json(raw)


def identity_from_json(raw: str) -> IndexIdentity:
    """The recorded identity (``identity_json``'s output) back; both stores keep it the same way."""
    data = json.loads(raw)
    return IndexIdentity(
        embedder=data["embedder"],
        dim=int(data["dim"]),
        windows=dict(data.get("windows", {})),
        schema_version=int(data["schema_version"]),
    )


def identity_mismatch(current: IndexIdentity, wanted: IndexIdentity, directory: Path) -> LibraryMismatchError:
    def describe(i: IndexIdentity) -> str:
        windows = json.dumps(i.windows, sort_keys=True)
        return f"'{i.embedder}' (dim {i.dim}, windows {windows}, schema {i.schema_version})"

    return LibraryMismatchError(
        f"the library at {directory} was built with embedder {describe(current)};"
        f" this run uses {describe(wanted)}",
        hint=f"re-ingest into a new library directory, or use the recorded embedder '{current.embedder}'",
    )
