"""What every source of content provides: videos with their transcripts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from atlas.errors import SourceError
from atlas.models import IngestOptions, ProgressFn, Segment, Transcript, Video

if TYPE_CHECKING:  # atlas.asr loads numpy and the decoder: only media that needs ASR imports it
    from atlas.asr.pipeline import TranscribeOptions


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What sources need besides the user's ``IngestOptions``, filled in by the Library (or the API), so
    sources stay independent of the store: where to cache, what is already held, where to report."""

    # The HTTP API's allowed directories (resolved): local files are read only from inside them, checked on
    # the file as opened (safe_open.py). None: no restriction (the CLI and the Python API read what they are
    # given, as the user running them could).
    allowed_dirs: tuple[Path, ...] | None = None
    cache_dir: Path | None = None  # transcripts are cached here so nothing is transcribed twice
    threads: int | None = None
    is_indexed: Callable[[str], bool] | None = None  # True for a video id the library already holds
    progress: ProgressFn | None = None

    def report(self, stage: str, done: float, total: float | None = None) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def transcribing(self, options: IngestOptions) -> TranscribeOptions:
        """How to transcribe for this ingest: the user's model and beam, this library's threads, cache and
        progress."""
        from atlas.asr.pipeline import TranscribeOptions

        return TranscribeOptions(
            model=options.asr_model,
            beam=options.beam,
            threads=self.threads,
            cache_dir=self.cache_dir,
            progress=self.progress,
        )


@dataclass(frozen=True, slots=True)
class Ingestible:
    """A video's metadata plus its transcript, ready for chunking (``content_hash`` is filled later)."""

    video: Video
    transcript: Transcript
    # What the reader had to fix or could not read (one line each); the ingest report shows them.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceSkipped:
    """An item of a playlist/channel left alone, e.g. because the library already holds it."""

    video_id: str
    title: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """One item of a target that could not be read; the others still ingest."""

    error: SourceError


ListingKind = Literal["playlist", "channel"]


@dataclass(frozen=True, slots=True)
class SourceListed:
    """A listing (a playlist, a channel's videos) that a source read, given before its videos. Sources only
    report it; the library decides what to do with it (it follows the listing for ``atlas update``)."""

    url: str  # canonical: the listing's identity
    kind: ListingKind
    title: str | None


# What ``Source.items`` yields.
SourceItem = Ingestible | SourceSkipped | SourceFailure | SourceListed


class Source(Protocol):
    """Turns a user's target (a path, a URL) into ingestible items."""

    name: str

    def accepts(self, target: str) -> bool: ...

    def items(self, target: str, options: IngestOptions, context: SourceContext) -> Iterator[SourceItem]: ...


class TranscriptFormat(Protocol):
    """A transcript file format: WebVTT, SRT, Whisper JSON, Whisper text lines, plain text."""

    name: str  # recorded as the transcript origin: ``file:<name>``

    def sniff(self, path_suffix: str, head: str) -> bool:
        """True when this format can read a file with this suffix that starts with ``head``."""
        ...

    def parse(self, text: str, source: str) -> list[Segment]:
        """Segments in order. Raise ``SourceError(source, ...)`` for content that is not this format."""
        ...
