"""The source for local audio and video files: anything FFmpeg (through PyAV) can read.

A file is picked by its suffix, then opened with PyAV before anything else, so a text file named ``.mp3``
fails with one line instead of reaching the recogniser. Its transcript comes from, in this order:

1. subtitles beside it (``talk.mp4`` + ``talk.en.vtt`` / ``talk.srt`` / ``talk.vtt`` / ``talk.json``), read
   like captions (origin ``sidecar:<format>``), unless ``--force-asr``;
2. Whisper (origin ``asr:faster-whisper/<model>``), cached by the file's fingerprint and the model.

Metadata: title from ``--title``, yt-dlp's ``Title [id]`` naming, the container's title tag, then the file
name; id as transcript files derive it; ``url`` is the file's URI so hits link to ``file:///...#t=123``.
"""

from __future__ import annotations

import glob
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from atlas.errors import SourceError
from atlas.models import IngestOptions, Transcript, Video, VideoKind
from atlas.sources.base import Ingestible, SourceContext, SourceFailure
from atlas.sources.formats import HEAD_CHARS, detect_format
from atlas.sources.safe_open import opened_path
from atlas.sources.transcript_files import (
    decode_transcript,
    humanise,
    identity_from_name,
    is_media_path,
    is_transcript_path,
    load_transcript,
    media_beside,
    split_name,
)
from atlas.youtube_urls import youtube_watch_url

_ENGLISH = re.compile(r"en(?:[-_].*)?", re.IGNORECASE)
_SIDECAR_FORMATS = (".vtt", ".srt", ".json", ".txt", ".text")  # captions first, then Whisper outputs
_FINGERPRINT_BLOCKS = 16
_FINGERPRINT_BLOCK_BYTES = 64 * 1024


def sidecar_transcripts(media: Path) -> list[Path]:
    """Timed transcript files that belong to ``media``, best first: same base name, in the same folder, and
    ``media`` is the file they would attach to (a video wins over its extracted audio). English or untagged
    before other languages, captions (.vtt/.srt) before Whisper outputs. A plain-text ``talk.txt`` is not a
    sidecar: it has no times, so it must not displace a timed transcript (it is ingested on its own)."""
    stem = media.stem
    found: list[tuple[int, int, str, Path]] = []
    for candidate in media.parent.glob(f"{glob.escape(stem)}.*"):
        if candidate == media or not is_transcript_path(candidate) or not candidate.is_file():
            continue
        base, language = split_name(candidate)
        if base != stem or media_beside(candidate, base) != media or not _timed_format(candidate):
            continue
        language_rank = 0 if language is None or _ENGLISH.fullmatch(language) else 1
        format_rank = _SIDECAR_FORMATS.index(candidate.suffix.lower())
        found.append((language_rank, format_rank, candidate.name, candidate))
    return [path for *_, path in sorted(found)]


def _timed_format(path: Path) -> bool:
    """False for a file whose content reads as plain text (only .txt can be; other suffixes are timed)."""
    if path.suffix.lower() not in (".txt", ".text"):
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_CHARS).decode("utf-8", errors="replace")
    except OSError:
        return False
    return detect_format(path, head).name != "plain"


def sidecars_in(paths: Iterable[Path]) -> set[Path]:
    """The transcript files among ``paths`` that a media file among them will read as its subtitles: a folder
    walk leaves them out, so a talk and its captions become one video (the media file's)."""
    listed = list(paths)
    return {sidecar for path in listed if is_media_path(path) for sidecar in sidecar_transcripts(path)}


def fingerprint(path: Path) -> str:
    """A content key that survives renames and moves, read in ~1 MB whatever the size: the byte count plus
    16 blocks of 64 KiB spread evenly over the file. Hashing a whole 2 GB video on every re-ingest would cost
    seconds; a re-encoded or edited file differs in length or in nearly every block."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        for index in range(_FINGERPRINT_BLOCKS):
            handle.seek(max(0, size - _FINGERPRINT_BLOCK_BYTES) * index // (_FINGERPRINT_BLOCKS - 1))
            digest.update(handle.read(_FINGERPRINT_BLOCK_BYTES))
    return digest.hexdigest()[:32]


def read_media_file(path: Path, options: IngestOptions, context: SourceContext) -> Ingestible:
    # Under the API's allowed directories, everything below reads the file checked as opened (safe_open).
    with opened_path(path, context.allowed_dirs) as data:
        return _read_media(path, data, options, context)


def _read_media(path: Path, data: Path, options: IngestOptions, context: SourceContext) -> Ingestible:
    """``path`` names the file (metadata, messages); ``data`` is where its bytes are read from."""
    from atlas.asr import transcribe_file
    from atlas.asr.audio import probe

    try:
        info = probe(data)  # SourceError for anything FFmpeg cannot open: nothing else runs on a bad file
    except SourceError:
        _refuse_transcript(path, data)
        raise
    sidecars = [] if options.force_asr else sidecar_transcripts(path)
    sidecar = sidecars[0] if sidecars else None
    if sidecar is not None:
        try:
            loaded = load_transcript(sidecar, context.allowed_dirs)
        except SourceError as exc:
            problem = exc.message.removeprefix(f"{exc.source}: ")
            raise SourceError(
                str(path),
                f"its subtitles {sidecar.name} cannot be used: {problem}",
                hint="fix or remove them, or pass --force-asr to transcribe the audio instead",
            ) from exc
        transcript = replace(loaded, origin="sidecar:" + loaded.origin.removeprefix("file:"))
    elif not info.audio_streams:
        _refuse_transcript(path, data)  # FFmpeg opens a WebVTT file as a subtitle-only "container"
        raise SourceError(
            str(path),
            "has no audio stream to transcribe",
            hint="give a file with sound, or put subtitles beside it: same name, .srt or .vtt",
        )
    else:
        transcript = transcribe_file(data, context.transcribing(options), key=f"media:{fingerprint(data)}")
    video = media_video(path, transcript, options, container_title=info.title, duration=info.duration)
    if sidecar is not None:
        video = replace(video, extra={**video.extra, "sidecar": str(sidecar.resolve())})
    return Ingestible(video=video, transcript=transcript)


def _refuse_transcript(path: Path, data: Path) -> None:
    """Raise a ``SourceError`` saying so when a "media" file is really a transcript or other text (a .vtt
    renamed .mp4): "no audio stream" or an FFmpeg error would send the user looking in the wrong place."""
    try:
        with open(data, "rb") as handle:
            head = decode_transcript(handle.read(HEAD_CHARS), str(path))
    except (OSError, SourceError):
        return  # binary, unreadable: FFmpeg's own verdict stands
    fmt = detect_format(path.with_suffix(".txt"), head)
    kinds = {"vtt": ("a WebVTT transcript", ".vtt"), "srt": ("an SRT transcript", ".srt")}
    kind, suffix = kinds.get(fmt.name, (None, None))
    if kind is None and head.lstrip().startswith(("{", "[")):
        kind, suffix = "JSON text (a Whisper transcript?)", ".json"
    if kind is None:
        kind, suffix = "text", ".txt"
    raise SourceError(
        str(path),
        f"is {kind}, not a readable audio or video file",
        hint=f"rename it to {path.stem}{suffix} to ingest it as a transcript",
    )


def media_video(
    path: Path,
    transcript: Transcript,
    options: IngestOptions,
    *,
    container_title: str | None = None,
    duration: float | None = None,
) -> Video:
    base, _ = split_name(path)
    video_id, title, youtube_id = identity_from_name(base, options)
    absolute = path.resolve()
    kind: VideoKind
    if youtube_id:  # a yt-dlp download ("Title [id].mp4"): link to the video page, as its captions would
        kind, url = "youtube", youtube_watch_url(youtube_id)
    else:
        kind, url = "media", options.url or absolute.as_uri()
    ends = [s.end for s in transcript.segments if s.end is not None]
    return Video(
        video_id=video_id,
        title=title or container_title or humanise(base),
        source=str(absolute),
        kind=kind,
        url=url,
        channel=options.channel,
        published=options.published,
        duration=duration or (max(ends) if ends else None),
        transcript_origin=transcript.origin,
        timed=transcript.timed,
        extra={"media_path": str(absolute)},
    )


class MediaFileSource:
    """An audio or video file on disk becomes one ingestible video."""

    name: str = "media-file"

    def accepts(self, target: str) -> bool:
        path = Path(target)
        return is_media_path(path) and path.is_file()

    def items(
        self, target: str, options: IngestOptions, context: SourceContext
    ) -> Iterator[Ingestible | SourceFailure]:
        try:
            item = read_media_file(Path(target), options, context)
        except SourceError as exc:
            yield SourceFailure(exc)
            return
        yield item
