"""What every source of content provides: videos with their transcripts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from atlas.errors import SourceError
from atlas.models import Segment, Transcript, Video


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """What the user said on the command line about the things being ingested."""

    title: str | None = None
    video_id: str | None = None
    url: str | None = None
    channel: str | None = None
    published: str | None = None


@dataclass(frozen=True, slots=True)
class Ingestible:
    """A video's metadata plus its transcript, ready for chunking (``content_hash`` is filled later)."""

    video: Video
    transcript: Transcript


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """One item of a target that could not be read; the others still ingest."""

    error: SourceError


class Source(Protocol):
    """Turns a user's target (a path, a URL) into ingestible items."""

    name: str

    def accepts(self, target: str) -> bool: ...

    def items(self, target: str, options: SourceOptions) -> Iterator[Ingestible | SourceFailure]: ...


class TranscriptFormat(Protocol):
    """A transcript file format: WebVTT, SRT, Whisper JSON, Whisper text lines, plain text."""

    name: str  # recorded as the transcript origin: ``file:<name>``

    def sniff(self, path_suffix: str, head: str) -> bool:
        """True when this format can read a file with this suffix that starts with ``head``."""
        ...

    def parse(self, text: str, source: str) -> list[Segment]:
        """Segments in order. Raise ``SourceError(source, ...)`` for content that is not this format."""
        ...
