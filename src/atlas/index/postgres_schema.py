"""The PostgreSQL library: schema, migrations, connections, the ``meta`` table and the consistency checks.

Everything lives in one PostgreSQL schema (``atlas`` unless told otherwise), so a database can hold other
applications' tables beside it. pgvector must be installable in the database (``CREATE EXTENSION vector``).

Layout (``PG_SCHEMA_VERSION`` 2):

    meta       key/value: schema_version, library_id, identity (JSON)
    stats      one row: how many windows the library holds and how many tokens they hold (BM25's N and
               average length), kept in the same transaction as the rows
    videos     one row per video; ``pk`` is internal (GENERATED ALWAYS AS IDENTITY), ``video_id`` the public
               id (UNIQUE: two writers can never both insert the same video); ``n_windows`` for filters
    segments   the transcript (words as compact JSON), ``speaker`` where the transcript names one (v2)
    sentences  text + times + float16 vector (bytea, little-endian: as in the SQLite store); ``speaker``
               (v2, indexed on lower(speaker)) for the speaker filter and the hit's speaker
    windows    the searchable unit; ``id`` is the key handed to callers (an identity: never reused);
               ``embedding`` is a pgvector ``vector(dim)`` under an HNSW index (cosine); ``tsv`` the window's
               tsvector under a GIN index and ``n_tokens`` its length, both set by a trigger
    terms      document frequency of every lexeme: how many windows hold it (BM25's IDF), kept per video
               in the same transaction as the rows

Words are indexed with ``atlas_english``: PostgreSQL's parser and Snowball English stemmer *without* stop
words (FTS5's porter tokenizer in the SQLite store keeps every word too), indexing the parts of hyphenated
words ("top-k" -> top, k) as FTS5's unicode61 does.

Migrations: ``MIGRATIONS[n]`` takes a version n-1 library to version n. They run at open, in one
transaction under an advisory lock (two processes opening an old library at once migrate it once). A library
newer than this code is refused with a clear error instead of being misread.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from atlas.errors import DependencyMissingError, LibraryCorruptError, LibraryMismatchError, NotFoundError
from atlas.index.base import IndexIdentity
from atlas.index.sqlite.schema import identity_from_json

PG_SCHEMA_VERSION = 2
DEFAULT_SCHEMA = "atlas"
TS_CONFIG = "atlas_english"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

Conn = Any  # psycopg.Connection: typed loosely so this module imports without the optional package

_V1 = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE {s}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE {s}.stats (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    windows bigint NOT NULL,
    tokens bigint NOT NULL
);
INSERT INTO {s}.stats (windows, tokens) VALUES (0, 0);
CREATE TABLE {s}.videos (
    pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_id text NOT NULL UNIQUE,
    title text NOT NULL,
    source text NOT NULL,
    kind text NOT NULL,
    url text,
    channel text,
    published text,
    duration double precision,
    thumbnail text,
    transcript_origin text NOT NULL,
    timed boolean NOT NULL,
    content_hash text NOT NULL,
    extra text NOT NULL,
    origin text NOT NULL,
    language text,
    added_at double precision NOT NULL,
    n_windows integer NOT NULL DEFAULT 0
);
CREATE INDEX videos_channel ON {s}.videos (channel);
CREATE INDEX videos_published ON {s}.videos (published);
CREATE TABLE {s}.segments (
    video_pk bigint NOT NULL REFERENCES {s}.videos (pk) ON DELETE CASCADE,
    idx integer NOT NULL,
    start double precision,
    "end" double precision,
    text text NOT NULL,
    words text,
    PRIMARY KEY (video_pk, idx)
);
CREATE TABLE {s}.sentences (
    video_pk bigint NOT NULL REFERENCES {s}.videos (pk) ON DELETE CASCADE,
    idx integer NOT NULL,
    start double precision,
    "end" double precision,
    text text NOT NULL,
    position integer NOT NULL,
    vector bytea NOT NULL,
    PRIMARY KEY (video_pk, idx)
);
CREATE TEXT SEARCH DICTIONARY {s}.atlas_english_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION {s}.{ts} (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION {s}.{ts}
    ALTER MAPPING FOR asciiword, word, hword_asciipart, hword_part WITH {s}.atlas_english_stem;
ALTER TEXT SEARCH CONFIGURATION {s}.{ts} DROP MAPPING IF EXISTS FOR asciihword, hword, numhword;
CREATE TABLE {s}.windows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_pk bigint NOT NULL REFERENCES {s}.videos (pk) ON DELETE CASCADE,
    idx integer NOT NULL,
    start double precision,
    "end" double precision,
    text text NOT NULL,
    first_sentence integer NOT NULL,
    last_sentence integer NOT NULL,
    embedding vector NOT NULL,
    tsv tsvector NOT NULL,
    n_tokens integer NOT NULL,
    UNIQUE (video_pk, idx)
);
CREATE INDEX windows_tsv ON {s}.windows USING gin (tsv);
CREATE TABLE {s}.terms (term text PRIMARY KEY, df bigint NOT NULL);
CREATE FUNCTION {s}.windows_index_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.tsv := to_tsvector('{s}.{ts}'::regconfig, NEW.text);
    NEW.n_tokens := (SELECT coalesce(sum(cardinality(u.positions)), 0) FROM unnest(NEW.tsv) u);
    RETURN NEW;
END $$;
CREATE TRIGGER windows_bi BEFORE INSERT ON {s}.windows FOR EACH ROW EXECUTE FUNCTION {s}.windows_index_text();
CREATE FUNCTION {s}.windows_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'windows are immutable; replace the video instead';
END $$;
CREATE TRIGGER windows_bu BEFORE UPDATE ON {s}.windows FOR EACH ROW EXECUTE FUNCTION {s}.windows_immutable();
"""

# Speakers (where a transcript names them): per segment for export, per sentence for hits and the filter.
# Rows from before version 2 keep NULL: no speaker named.
_V2 = """
ALTER TABLE {s}.segments ADD COLUMN speaker text;
ALTER TABLE {s}.sentences ADD COLUMN speaker text;
CREATE INDEX sentences_speaker ON {s}.sentences (lower(speaker)) WHERE speaker IS NOT NULL;
"""

# MIGRATIONS[n] takes version n-1 to n; index 0 is unused.
MIGRATIONS: list[str] = ["", _V1, _V2]
assert len(MIGRATIONS) == PG_SCHEMA_VERSION + 1


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"PostgreSQL schema name {schema!r}: use lower-case letters, digits and _")
    return schema


def redact(url: str) -> str:
    """The store URL without its password, for messages and ``atlas doctor``."""
    return re.sub(r"^(\w+://[^:/@]*):[^@/]*@", r"\1:***@", url)


def lock_key(schema: str, what: str) -> str:
    """Text for ``pg_advisory_xact_lock(hashtext(...))``: one lock per library (schema) and purpose."""
    return f"atlas:{what}:{schema}"


def connect(url: str, schema: str) -> Conn:
    """One autocommit connection (transactions are explicit) with pgvector's types registered and the
    library's schema first on the search_path."""
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=30)
    except psycopg.Error as exc:
        raise LibraryCorruptError(
            f"cannot connect to the PostgreSQL store {redact(url)}: {str(exc).strip()}",
            hint="check the URL (postgresql://user@host:port/database) and that the server is running",
        ) from exc
    try:
        row = conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'vector'"
        ).fetchone()
        if row is not None:
            conn.execute(f'SET search_path TO {schema}, "{row[0]}"')
            register_vector(conn)
        else:
            conn.execute(f"SET search_path TO {schema}, public")
    except BaseException:
        conn.close()
        raise
    return conn


def open_or_migrate(conn: Conn, url: str, schema: str, *, create: bool) -> str:
    """Create the library in an empty database (``create``), migrate an older one, refuse a newer one;
    return the library's id. Runs in one transaction under an advisory lock."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('atlas:schema'))")
            exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.meta",)).fetchone()[0] is not None
            if not exists:
                if not create:
                    raise NotFoundError(
                        f"no Atlas library in the PostgreSQL store {redact(url)} (schema {schema})",
                        hint="ingest something first: atlas ingest FILE --store URL",
                    )
                _create_extension(conn, url)
                version = 0
            else:
                version = _schema_version(conn, url, schema)
            for target in range(version + 1, PG_SCHEMA_VERSION + 1):
                for statement in split_statements(MIGRATIONS[target].format(s=schema, ts=TS_CONFIG)):
                    conn.execute(statement)
                set_meta(conn, schema, "schema_version", str(target))
            library_id = get_meta(conn, schema, "library_id")
            if library_id is None:
                library_id = uuid.uuid4().hex
                set_meta(conn, schema, "library_id", library_id)
            return library_id
    except psycopg.Error as exc:
        raise LibraryCorruptError(
            f"cannot open the Atlas library in {redact(url)} (schema {schema}): {str(exc).strip()}",
        ) from exc


def _create_extension(conn: Conn, url: str) -> None:
    import psycopg

    try:
        with conn.transaction():  # a savepoint: the error below must leave the outer transaction usable
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise DependencyMissingError(
            f"the PostgreSQL store {redact(url)} has no pgvector extension ({str(exc).strip()})",
            hint="install pgvector >= 0.6 on the server, then as a superuser run CREATE EXTENSION vector "
            "in this database",
        ) from exc
    from pgvector.psycopg import register_vector

    register_vector(conn)


def _schema_version(conn: Conn, url: str, schema: str) -> int:
    raw = get_meta(conn, schema, "schema_version")
    try:
        version = int(raw or "")
    except ValueError:
        raise LibraryCorruptError(
            f"{redact(url)} (schema {schema}): the library's meta table is damaged (schema_version {raw!r})"
        ) from None
    if version > PG_SCHEMA_VERSION:
        raise LibraryMismatchError(
            f"the library in {redact(url)} (schema {schema}) was written by a newer Atlas (PostgreSQL schema "
            f"{version}); this Atlas reads schema {PG_SCHEMA_VERSION} at most",
            hint="upgrade Atlas (pip install -U 'atlas-search[cluster]') to open this library",
        )
    return version


def split_statements(script: str) -> list[str]:
    """Statements separated by ``;`` at the end of a line, keeping ``$$ ... $$`` function bodies whole."""
    statements: list[str] = []
    buffer: list[str] = []
    in_body = False
    for line in script.splitlines():
        if not line.strip():
            continue
        buffer.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            statements.append("\n".join(buffer).rstrip().rstrip(";"))
            buffer = []
    if buffer:
        statements.append("\n".join(buffer))
    return statements


def get_meta(conn: Conn, schema: str, key: str) -> str | None:
    row = conn.execute(f"SELECT value FROM {schema}.meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: Conn, schema: str, key: str, value: str) -> None:
    conn.execute(
        f"INSERT INTO {schema}.meta (key, value) VALUES (%s, %s)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def read_identity(conn: Conn, schema: str) -> IndexIdentity | None:
    raw = get_meta(conn, schema, "identity")
    return None if raw is None else identity_from_json(raw)


def set_dimension(conn: Conn, dim: int) -> None:
    """Give the (empty) windows table's vector column its dimension and build the HNSW index on it
    (pgvector indexes only columns of a fixed dimension). Inside the caller's write transaction."""
    conn.execute("DROP INDEX IF EXISTS windows_embedding")
    conn.execute(f"ALTER TABLE windows ALTER COLUMN embedding TYPE vector({int(dim)})")
    conn.execute("CREATE INDEX windows_embedding ON windows USING hnsw (embedding vector_cosine_ops)")


def check_database(conn: Conn, schema: str, identity: IndexIdentity | None) -> list[str]:
    """Consistency problems in the library's tables (empty when healthy). Reads one snapshot: call inside a
    repeatable-read transaction."""
    problems: list[str] = []
    n_windows, n_tokens = conn.execute("SELECT count(*), coalesce(sum(n_tokens), 0) FROM windows").fetchone()
    stats = conn.execute("SELECT windows, tokens FROM stats").fetchone()
    if tuple(stats) != (n_windows, n_tokens):
        problems.append(
            f"stats say {stats[0]} windows / {stats[1]} tokens; the table holds {n_windows} / {n_tokens}"
        )
    bad_videos = conn.execute(
        "SELECT count(*) FROM videos v LEFT JOIN"
        " (SELECT video_pk, count(*) AS n FROM windows GROUP BY video_pk) w"
        " ON w.video_pk = v.pk WHERE v.n_windows != coalesce(w.n, 0)"
    ).fetchone()[0]
    if bad_videos:
        problems.append(f"{bad_videos} videos whose window count does not match their windows")
    bad_terms = conn.execute(
        "SELECT count(*) FROM (SELECT u.lexeme AS term, count(*) AS df FROM windows w, unnest(w.tsv) u"
        " GROUP BY u.lexeme) actual FULL JOIN terms t USING (term)"
        " WHERE coalesce(t.df, 0) != coalesce(actual.df, 0)"
    ).fetchone()[0]
    if bad_terms:
        problems.append(f"{bad_terms} terms whose document frequency does not match the windows")
    stale = conn.execute(
        f"SELECT count(*) FROM windows WHERE tsv != to_tsvector('{schema}.{TS_CONFIG}'::regconfig, text)"
    ).fetchone()[0]
    if stale:
        problems.append(f"{stale} windows whose full-text vector does not match their text")
    if identity is not None:
        index = conn.execute(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
            (f"{schema}.windows_embedding",),
        ).fetchone()
        if index is None:
            problems.append("no HNSW index on the window vectors")
        elif not index[0]:
            problems.append("the HNSW index on the window vectors is invalid (REINDEX it)")
        dims = conn.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = 'embedding'",
            (f"{schema}.windows",),
        ).fetchone()
        if dims is None or int(dims[0]) != identity.dim:
            problems.append(f"the vector column's dimension is not the library's ({identity.dim})")
    return problems
