"""Which source handles a target. Built-ins are registered here like plugins; third parties add the
``atlas.sources`` entry point (a zero-argument callable returning a ``Source``)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

from atlas.errors import SourceError
from atlas.sources.base import Ingestible, Source, SourceFailure, SourceOptions, SourceSkipped


def builtin_sources() -> list[Source]:
    from atlas.sources.media import MediaFileSource
    from atlas.sources.transcript_files import TranscriptFileSource
    from atlas.sources.youtube import YouTubeSource

    return [
        YouTubeSource(),  # accepts URLs only, so it never shadows a file source
        TranscriptFileSource(),
        MediaFileSource(),
    ]


def all_sources() -> list[Source]:
    sources = builtin_sources()
    for ep in entry_points(group="atlas.sources"):
        sources.append(ep.load()())
    return sources


def expand_targets(targets: list[str], sources: list[Source]) -> Iterator[str]:
    """Folders expand (recursively, sorted) to the files some source accepts; other targets pass through.
    Subtitles beside a media file are left out: the media file reads them, so the pair is one video."""
    from atlas.sources.media import sidecars_in

    for target in targets:
        path = Path(target)
        if path.is_dir():
            found = False
            children = sorted(p for p in path.rglob("*") if p.is_file())
            sidecars = sidecars_in(children)
            for child in children:
                if child not in sidecars and any(s.accepts(str(child)) for s in sources):
                    found = True
                    yield str(child)
            if not found:
                yield target  # reported below as "nothing to ingest"
        else:
            yield target


def resolve(
    target: str, options: SourceOptions, sources: list[Source]
) -> Iterator[Ingestible | SourceSkipped | SourceFailure]:
    for source in sources:
        if source.accepts(target):
            yield from source.items(target, options)
            return
    path = Path(target)
    if path.is_dir():
        problem, hint = (
            "folder holds no transcript or media file Atlas can read",
            "point at .vtt/.srt/.json/.txt transcripts or audio/video files (.mp4 .mkv .mp3 .wav ...)",
        )
    elif not path.exists():
        problem, hint = "no such file", "check the path (or quote a URL)"
    else:
        problem = f"unsupported file type '{path.suffix or path.name}'"
        hint = (
            "Atlas reads .vtt, .srt, Whisper .json/.txt and plain .txt transcripts, and audio/video files "
            "(.mp4 .mkv .webm .mov .mp3 .m4a .wav .flac .ogg ...)"
        )
    yield SourceFailure(SourceError(target, problem, hint=hint))
