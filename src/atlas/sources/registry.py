"""Which source handles a target. Built-ins are registered here like plugins; third parties add the
``atlas.sources`` entry point (a zero-argument callable returning a ``Source``), or register one in
``SOURCES`` (atlas/plugins.py). Sources are asked in turn, so built-ins come first."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from atlas.errors import SourceError
from atlas.models import IngestOptions
from atlas.plugins import Registry
from atlas.sources.base import Source, SourceContext, SourceFailure, SourceItem

SourceFactory = Callable[[], Source]


def _youtube() -> Source:
    from atlas.sources.youtube import YouTubeSource

    return YouTubeSource()


def _transcript_files() -> Source:
    from atlas.sources.transcript_files import TranscriptFileSource

    return TranscriptFileSource()


def _media_files() -> Source:
    from atlas.sources.media import MediaFileSource

    return MediaFileSource()


SOURCES: Registry[SourceFactory] = Registry(
    "atlas.sources",
    "source",
    {
        "youtube": _youtube,  # accepts URLs only, so it never shadows a file source
        "transcript-file": _transcript_files,  # the names are the sources' own ``name``
        "media-file": _media_files,
    },
)


def all_sources() -> list[Source]:
    return [create() for create in SOURCES.all()]


def expand_targets(targets: list[str], sources: list[Source]) -> Iterator[str]:
    """Folders expand (recursively, sorted) to the files some source accepts; other targets pass through.
    Subtitles beside a media file are left out: the media file reads them, so the pair is one video. A
    subfolder that cannot be listed is passed through as a target of its own, so it is reported (``resolve``
    says why) instead of silently leaving its files out."""
    from atlas.sources.media import sidecars_in

    for target in targets:
        path = Path(target)
        if path.is_dir():
            found = False
            files, unreadable = _walk(path)
            sidecars = sidecars_in(files)
            for child in files:
                if child not in sidecars and any(s.accepts(str(child)) for s in sources):
                    found = True
                    yield str(child)
            subfolders = sorted(unreadable - {path})
            yield from (str(folder) for folder in subfolders)
            if path in unreadable or not (found or subfolders):
                yield target  # reported by resolve as unreadable, or as holding nothing to ingest
        else:
            yield target


def _walk(folder: Path) -> tuple[list[Path], set[Path]]:
    """Every regular file under ``folder`` (sorted; links to folders are not followed, as before), and the
    folders that could not be listed."""
    unreadable: set[Path] = set()

    def failed(error: OSError) -> None:
        unreadable.add(Path(error.filename) if error.filename else folder)

    files = [Path(root) / name for root, _, names in os.walk(folder, onerror=failed) for name in names]
    return sorted(p for p in files if p.is_file()), unreadable


def resolve(
    target: str, options: IngestOptions, context: SourceContext, sources: list[Source]
) -> Iterator[SourceItem]:
    for source in sources:
        if source.accepts(target):
            yield from source.items(target, options, context)
            return
    problem, hint = _why_not(Path(target))
    yield SourceFailure(SourceError(target, problem, hint=hint))


def _why_not(path: Path) -> tuple[str, str]:
    """Why no source took ``path``: the problem and its fix, naming what the path really is."""
    if path.is_dir():
        try:
            with os.scandir(path) as entries:
                next(entries, None)
        except PermissionError:
            return (
                "permission denied: this folder cannot be listed",
                "make it readable (chmod +rx), or skip it",
            )
        except OSError as exc:
            return f"this folder cannot be listed: {exc.strerror or exc}", "check the folder"
        return (
            "folder holds no transcript or media file Atlas can read",
            "point at .vtt/.srt/.json/.txt transcripts or audio/video files (.mp4 .mkv .mp3 .wav ...)",
        )
    if not path.exists():
        return "no such file", "check the path (or quote a URL)"
    if not path.is_file():  # a FIFO or socket named talk.vtt: reading it would block or never end
        return "not a regular file (a pipe, socket or device)", "give a transcript or media file"
    return (
        f"unsupported file type '{path.suffix or path.name}'",
        "Atlas reads .vtt, .srt, Whisper .json/.txt and plain .txt transcripts, and audio/video files "
        "(.mp4 .mkv .webm .mov .mp3 .m4a .wav .flac .ogg ...)",
    )
