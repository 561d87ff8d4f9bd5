"""Transcript file formats and how a file's format is chosen.

``detect_format`` looks at the suffix first, then at the content where the suffix is ambiguous: a ``.txt``
file is read as Whisper text lines when most of its first lines are ``[start --> end] text``, as SRT or WebVTT
when it starts like one, and as plain text otherwise; a ``.json`` file is a Podcasting 2.0 transcript when its
segments have ``startTime`` / ``body`` keys, and Whisper output otherwise. A file whose suffix promises a
format its content does not have (a ``.vtt`` without ``WEBVTT``) is not re-guessed: its parser fails with a
message naming the file.
"""

from __future__ import annotations

from pathlib import Path

from atlas.errors import SourceError
from atlas.sources.base import TranscriptFormat
from atlas.sources.formats.plain import PlainTextFormat
from atlas.sources.formats.podcast_json import PodcastJsonFormat
from atlas.sources.formats.srt import SrtFormat
from atlas.sources.formats.webvtt import WebVTTFormat
from atlas.sources.formats.whisper_json import WhisperJsonFormat
from atlas.sources.formats.whisper_text import WhisperTextFormat

__all__ = [
    "FORMATS",
    "TRANSCRIPT_SUFFIXES",
    "PlainTextFormat",
    "PodcastJsonFormat",
    "SrtFormat",
    "WebVTTFormat",
    "WhisperJsonFormat",
    "WhisperTextFormat",
    "detect_format",
    "get_format",
]

# Most specific first: the first format whose ``sniff`` says yes reads the file; plain text is the fallback.
FORMATS: tuple[TranscriptFormat, ...] = (
    WebVTTFormat(),
    SrtFormat(),
    PodcastJsonFormat(),  # before Whisper JSON: both are .json, told apart by their keys
    WhisperJsonFormat(),
    WhisperTextFormat(),
    PlainTextFormat(),
)

# Suffixes read as transcripts. ``.md`` is left out on purpose: a folder of notes or a README is not a
# transcript, and a directory walk must not ingest one by accident.
TRANSCRIPT_SUFFIXES: frozenset[str] = frozenset({".vtt", ".srt", ".json", ".txt", ".text"})

# Enough of the file to recognise its shape without scanning a long transcript.
HEAD_CHARS = 8192


def get_format(name: str) -> TranscriptFormat:
    """The format registered under ``name`` (as recorded in ``file:<name>`` origins)."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    known = ", ".join(fmt.name for fmt in FORMATS)
    raise KeyError(f"unknown transcript format {name!r} (known: {known})")


def detect_format(path: Path, text: str) -> TranscriptFormat:
    """The format to read ``text`` (the content of ``path``) with; ``SourceError`` for an unknown suffix."""
    suffix = path.suffix.lower()
    if suffix not in TRANSCRIPT_SUFFIXES:
        raise SourceError(
            str(path),
            f"unsupported transcript format {suffix or '(no suffix)'!r}",
            hint="give a .vtt, .srt, Whisper .json, or .txt transcript",
        )
    head = text[:HEAD_CHARS]
    for fmt in FORMATS:
        if fmt.sniff(suffix, head):
            return fmt
    raise AssertionError("plain text accepts every text suffix")  # pragma: no cover
