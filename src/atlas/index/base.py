"""The store contract. Every backend (embedded SQLite, PostgreSQL later) passes the same contract tests
(tests/contract/). A backend owns durability: ``put_video`` replaces a video atomically, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from atlas.models import SearchFilters, Sentence, Transcript, Video, Window

Vectors = npt.NDArray[np.float32]

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class IndexIdentity:
    """What built an index. Searching or adding with a different identity is refused."""

    embedder: str
    dim: int
    windows: dict[str, float | int] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class VideoRecord:
    """Everything stored for one video: what ``put_video`` takes and ``export`` yields."""

    video: Video
    transcript: Transcript
    sentences: tuple[Sentence, ...]
    windows: tuple[Window, ...]
    sentence_vectors: Vectors  # (len(sentences), dim)
    window_vectors: Vectors  # (len(windows), dim)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A window that a retriever returned: its store key and the retriever's score (higher is better)."""

    key: int
    score: float


@dataclass(frozen=True, slots=True)
class StoredWindow:
    key: int
    video: Video
    window: Window


class Index(Protocol):
    """A library's store. Keys are integers that stay stable until the window's video is replaced."""

    read_only: bool  # opened for reading only (a backup, a read-only mount): every write fails up front

    def identity(self) -> IndexIdentity | None:
        """None for a new, empty library that no embedder has claimed yet."""
        ...

    def claim(self, identity: IndexIdentity) -> None:
        """Record the identity of a new library; raise LibraryMismatchError if another one is recorded."""
        ...

    def content_hash(self, video_id: str) -> str | None: ...

    def put_video(self, record: VideoRecord) -> None:
        """Insert or replace one video with all its rows, in one transaction."""
        ...

    def remove_video(self, video_id: str) -> bool: ...

    def get_video(self, video_id: str) -> Video:
        """Raise NotFoundError when absent."""
        ...

    def list_videos(self) -> list[Video]: ...

    def get_record(self, video_id: str) -> VideoRecord:
        """The full stored record (transcript, sentences, windows, vectors); NotFoundError when absent."""
        ...

    def iter_records(self) -> Iterator[VideoRecord]: ...

    def counts(self) -> dict[str, int]:
        """{"videos": n, "windows": n, "sentences": n}"""
        ...

    def keyword_search(self, terms: Sequence[str], k: int, filters: SearchFilters) -> list[Candidate]:
        """BM25 over window text; ``terms`` are already-normalised query words, OR-ed together."""
        ...

    def vector_search(self, vector: Vectors, k: int, filters: SearchFilters) -> list[Candidate]:
        """Cosine similarity (vectors are normalised); exact when filters leave few windows."""
        ...

    def windows(self, keys: Sequence[int]) -> list[StoredWindow]:
        """The windows for these keys, in the same order; missing keys are skipped."""
        ...

    def window_vectors(self, keys: Sequence[int]) -> Vectors:
        """Vectors for these keys, same order (all keys must exist)."""
        ...

    def sentences(self, video_id: str, first: int, last: int) -> tuple[list[Sentence], Vectors]:
        """Sentences first..last (inclusive) of a video, with their vectors."""
        ...

    def verify(self) -> list[str]:
        """Consistency problems, empty when healthy (``atlas doctor``)."""
        ...

    def close(self) -> None: ...
