"""Rows <-> models for the SQLite store: encoding, decoding, SQL fragments, reading one record back.

Vectors are stored as little-endian BLOBs (``<f4`` for windows, ``<f2`` for sentences) so a library file reads
the same on any machine.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from atlas.errors import LibraryMismatchError, UserInputError
from atlas.index.base import StoredWindow, Vectors, VideoRecord
from atlas.models import SearchFilters, Segment, Sentence, Transcript, Video, Window, Word

WINDOW_DTYPE = np.dtype("<f4")
SENTENCE_DTYPE = np.dtype("<f2")

_VIDEO = (
    "video_id, title, source, kind, url, channel, published, duration, thumbnail, "
    "transcript_origin, timed, content_hash, extra"
).split(", ")
_WINDOW = ["idx", "text", "start", '"end"', "first_sentence", "last_sentence"]
VIDEO_COLUMNS = ", ".join(_VIDEO)


def video_columns(alias: str) -> str:
    """The columns ``video_from_row`` reads, qualified by a table alias."""
    return ", ".join(f"{alias}.{c}" for c in _VIDEO)


def window_columns(alias: str) -> str:
    """The columns ``window_from_row`` reads, qualified by a table alias."""
    return ", ".join(f"{alias}.{c}" for c in _WINDOW)


def video_params(video: Video) -> tuple[Any, ...]:
    """Values for ``VIDEO_COLUMNS``, in order."""
    try:
        extra = json.dumps(video.extra, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"video {video.video_id!r}: 'extra' must be JSON-serialisable ({exc})") from exc
    return (
        video.video_id,
        video.title,
        video.source,
        video.kind,
        video.url,
        video.channel,
        video.published,
        video.duration,
        video.thumbnail,
        video.transcript_origin,
        int(video.timed),
        video.content_hash,
        extra,
    )


def video_from_row(row: Sequence[Any]) -> Video:
    """Inverse of ``video_params`` (a row selected as ``video_columns(...)``)."""
    return Video(
        video_id=row[0],
        title=row[1],
        source=row[2],
        kind=row[3],
        url=row[4],
        channel=row[5],
        published=row[6],
        duration=row[7],
        thumbnail=row[8],
        transcript_origin=row[9],
        timed=bool(row[10]),
        content_hash=row[11],
        extra=json.loads(row[12]),
    )


def window_from_row(row: Sequence[Any]) -> Window:
    """A row selected as ``window_columns(...)``."""
    return Window(
        index=row[0], text=row[1], start=row[2], end=row[3], first_sentence=row[4], last_sentence=row[5]
    )


def stored_windows(rows: Iterable[Sequence[Any]], keys: Sequence[int]) -> list[StoredWindow]:
    """Rows of ``id, <window columns>, <video columns>`` (either store's query) as windows in ``keys``'
    order; keys with no row (removed meanwhile) are skipped. One Video object per video, however many of its
    windows."""
    found: dict[int, StoredWindow] = {}
    videos: dict[str, Video] = {}
    for row in rows:
        video = videos.get(row[7]) or videos.setdefault(row[7], video_from_row(row[7:]))
        found[int(row[0])] = StoredWindow(key=int(row[0]), video=video, window=window_from_row(row[1:7]))
    return [found[int(k)] for k in keys if int(k) in found]


def words_json(words: Sequence[Word]) -> str | None:
    # Compact [text, start, end] triples: a long transcript has tens of thousands of words.
    if not words:
        return None
    return json.dumps([[w.text, w.start, w.end] for w in words], ensure_ascii=False, separators=(",", ":"))


def segment_from_row(
    text: str, start: float | None, end: float | None, words: str | None, speaker: str | None = None
) -> Segment:
    parsed = tuple(Word(t, s, e) for t, s, e in json.loads(words)) if words else ()
    return Segment(text=text, start=start, end=end, words=parsed, speaker=speaker)


# The columns ``sentence_from_row`` reads (then, where selected, the vector).
SENTENCE_COLUMNS = 'idx, text, start, "end", position, speaker'


def sentence_from_row(row: Sequence[Any]) -> Sentence:
    """A row selected as ``SENTENCE_COLUMNS``."""
    return Sentence(index=row[0], text=row[1], start=row[2], end=row[3], position=row[4], speaker=row[5])


def to_blobs(vectors: Vectors, dtype: np.dtype[Any]) -> list[bytes]:
    rows = np.ascontiguousarray(vectors, dtype=dtype)
    if not np.isfinite(rows).all():
        raise ValueError("vectors contain NaN or infinity (or overflow float16)")
    return [row.tobytes() for row in rows]


def from_blobs(blobs: Sequence[bytes], dtype: np.dtype[Any], dim: int, *, writable: bool = True) -> Vectors:
    """Stack vector BLOBs into a float32 matrix. ``writable=False`` (search internals) skips a copy: the
    result is then a read-only view."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    flat = np.frombuffer(b"".join(blobs), dtype=dtype).reshape(len(blobs), dim)
    if writable or flat.dtype != np.float32:
        return flat.astype(np.float32)  # float16 is widened; float32 copied out of the read-only buffer
    return flat


def check_date(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise UserInputError(f"'{name}' must be a date like 2024-05-31, got {value!r}") from exc
    if len(value) != 10:  # fromisoformat also takes 20240531; stored dates are YYYY-MM-DD strings
        raise UserInputError(f"'{name}' must be a date like 2024-05-31, got {value!r}")
    return value


def filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    """A WHERE fragment over ``videos v`` (empty when no filter). Lists go in as one JSON parameter each, so
    any number of ids fits and nothing is spliced into SQL."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters.video_ids:
        clauses.append("v.video_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(filters.video_ids)))
    if filters.channels:
        clauses.append("v.channel IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(filters.channels)))
    after = check_date(filters.after, "after")
    before = check_date(filters.before, "before")
    # Dates compare as YYYY-MM-DD strings; a video with no date is excluded by either bound.
    if after is not None:
        clauses.append("v.published >= ?")
        params.append(after)
    if before is not None:
        clauses.append("substr(v.published, 1, 10) <= ?")
        params.append(before)
    return " AND ".join(clauses), params


def fts_query(terms: Sequence[str]) -> str | None:
    """A MATCH expression that ORs the terms, each quoted as an FTS5 string (``"`` doubled), so no user text
    is ever read as FTS syntax (NEAR, column filters, ``*``, ``-``, ``^``). None when nothing is left."""
    quoted = []
    seen: set[str] = set()
    for raw in terms:
        term = raw.replace("\x00", " ").strip()  # FTS5 reads a NUL as the end of the query string
        if term and term not in seen:
            seen.add(term)
            quoted.append('"' + term.replace('"', '""') + '"')
    return " OR ".join(quoted) if quoted else None


def read_record(conn: sqlite3.Connection, pk: int, dim: int) -> VideoRecord:
    row = conn.execute(f"SELECT {VIDEO_COLUMNS}, origin, language FROM videos WHERE pk = ?", (pk,)).fetchone()
    segments = tuple(
        segment_from_row(*r)
        for r in conn.execute(
            'SELECT text, start, "end", words, speaker FROM segments WHERE video_pk = ? ORDER BY idx', (pk,)
        )
    )
    sent_rows = conn.execute(
        f"SELECT {SENTENCE_COLUMNS}, vector FROM sentences WHERE video_pk = ? ORDER BY idx",
        (pk,),
    ).fetchall()
    win_rows = conn.execute(
        f"SELECT {window_columns('windows')}, vector FROM windows WHERE video_pk = ? ORDER BY idx", (pk,)
    ).fetchall()
    return VideoRecord(
        video=video_from_row(row),
        transcript=Transcript(segments=segments, origin=row[-2], language=row[-1]),
        sentences=tuple(sentence_from_row(r) for r in sent_rows),
        windows=tuple(window_from_row(r) for r in win_rows),
        sentence_vectors=from_blobs([r[6] for r in sent_rows], SENTENCE_DTYPE, dim),
        window_vectors=from_blobs([r[6] for r in win_rows], WINDOW_DTYPE, dim),
    )


def check_vectors(vectors: Vectors, rows: int, dim: int, what: str, video_id: str) -> None:
    shape = tuple(vectors.shape)
    if rows == 0 and vectors.size == 0:
        return
    if len(shape) != 2 or shape[0] != rows:
        raise ValueError(f"video {video_id!r}: {what} vectors have shape {shape}, expected ({rows}, {dim})")
    if shape[1] != dim:
        raise LibraryMismatchError(
            f"video {video_id!r}: {what} vectors have {shape[1]} dimensions, this library holds {dim}",
            hint="embed with the library's recorded embedder, or ingest into a new library",
        )


@dataclass(frozen=True, slots=True)
class RecordRows:
    """A record turned into parameter rows, validated, ready to insert in one short transaction."""

    video: tuple[Any, ...]
    segments: list[tuple[Any, ...]]
    sentences: list[tuple[Any, ...]]
    windows: list[tuple[Any, ...]]

    @classmethod
    def prepare(cls, record: VideoRecord, dim: int) -> RecordRows:
        n_win, n_sent, video_id = len(record.windows), len(record.sentences), record.video.video_id
        check_vectors(record.window_vectors, n_win, dim, "window", video_id)
        check_vectors(record.sentence_vectors, n_sent, dim, "sentence", video_id)
        win_blobs = to_blobs(record.window_vectors.reshape(n_win, dim), WINDOW_DTYPE)
        sent_blobs = to_blobs(record.sentence_vectors.reshape(n_sent, dim), SENTENCE_DTYPE)
        transcript = record.transcript
        return cls(
            video=(*video_params(record.video), transcript.origin, transcript.language, time.time()),
            segments=[
                (i, s.start, s.end, s.text, words_json(s.words), s.speaker)
                for i, s in enumerate(transcript.segments)
            ],
            sentences=[
                (s.index, s.start, s.end, s.text, s.position, b, s.speaker)
                for s, b in zip(record.sentences, sent_blobs, strict=True)
            ],
            windows=[
                (w.index, w.start, w.end, w.text, w.first_sentence, w.last_sentence, b)
                for w, b in zip(record.windows, win_blobs, strict=True)
            ],
        )

    def insert(self, conn: sqlite3.Connection, gen: int) -> None:
        """Insert every row (inside the caller's write transaction); windows carry generation ``gen``."""
        marks = ", ".join("?" * len(self.video))
        pk = conn.execute(
            f"INSERT INTO videos ({VIDEO_COLUMNS}, origin, language, added_at) VALUES ({marks}) RETURNING pk",
            self.video,
        ).fetchone()[0]
        conn.executemany(
            'INSERT INTO segments (video_pk, idx, start, "end", text, words, speaker)'
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(pk, *row) for row in self.segments],
        )
        conn.executemany(
            'INSERT INTO sentences (video_pk, idx, start, "end", text, position, vector, speaker)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(pk, *row) for row in self.sentences],
        )
        conn.executemany(
            'INSERT INTO windows (video_pk, idx, start, "end", text, first_sentence, last_sentence,'
            " vector, gen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(pk, *row, gen) for row in self.windows],
        )
        if self.windows:
            # One writer holds the lock, so AUTOINCREMENT handed out consecutive ids: record the run.
            lo, hi = conn.execute("SELECT min(id), max(id) FROM windows WHERE video_pk = ?", (pk,)).fetchone()
            if hi - lo + 1 != len(self.windows):  # cannot happen; refuse to record a wrong run if it does
                raise sqlite3.IntegrityError(f"window ids {lo}..{hi} are not one run of {len(self.windows)}")
            conn.execute(
                "UPDATE videos SET first_window = ?, n_windows = ? WHERE pk = ?", (lo, hi - lo + 1, pk)
            )
