"""What every source of content provides: videos with their transcripts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from atlas.errors import SourceError
from atlas.models import Segment, Transcript, Video

# (stage, done, total): e.g. ("transcribe", 312.0, 3600.0) audio seconds, ("download", bytes, bytes or None)
ProgressFn = Callable[[str, float, float | None], None]


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """What the user said on the command line about the things being ingested, plus the hooks the Library
    fills in (cache directory, what is already indexed, progress) so sources stay independent of the store."""

    title: str | None = None
    video_id: str | None = None
    url: str | None = None
    channel: str | None = None
    published: str | None = None
    # Whisper model for media without trustworthy captions; None: tiny.en, or the multilingual base for a
    # video known to be in another language (atlas.asr.models.choose_model)
    asr_model: str | None = None
    force_asr: bool = False  # transcribe even when captions / sidecar subtitles exist
    # Whisper's beam width; None: atlas.asr.faster_whisper.BEAM_SIZE. 1 (greedy) trades accuracy for speed
    asr_beam: int | None = None
    since: str | None = None  # playlists and channels: only videos published on/after this ISO date
    max_items: int | None = None  # playlists and channels: at most this many videos (newest first)
    refresh: bool = False  # re-fetch videos already in the library instead of skipping them
    # The HTTP API's allowed directories (resolved): local files are read only from inside them, checked on
    # the file as opened (safe_open.py). None: no restriction (the CLI and the Python API read what they are
    # given, as the user running them could).
    allowed_dirs: tuple[Path, ...] | None = None
    # Filled by the Library:
    library_dir: Path | None = None  # where per-library state lives (followed playlists and channels)
    cache_dir: Path | None = None  # transcripts are cached here so nothing is transcribed twice
    threads: int | None = None
    is_indexed: Callable[[str], bool] | None = None  # True for a video id the library already holds
    progress: ProgressFn | None = None

    def report(self, stage: str, done: float, total: float | None = None) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


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


class Source(Protocol):
    """Turns a user's target (a path, a URL) into ingestible items."""

    name: str

    def accepts(self, target: str) -> bool: ...

    def items(
        self, target: str, options: SourceOptions
    ) -> Iterator[Ingestible | SourceSkipped | SourceFailure]: ...


class TranscriptFormat(Protocol):
    """A transcript file format: WebVTT, SRT, Whisper JSON, Whisper text lines, plain text."""

    name: str  # recorded as the transcript origin: ``file:<name>``

    def sniff(self, path_suffix: str, head: str) -> bool:
        """True when this format can read a file with this suffix that starts with ``head``."""
        ...

    def parse(self, text: str, source: str) -> list[Segment]:
        """Segments in order. Raise ``SourceError(source, ...)`` for content that is not this format."""
        ...
