"""Reading audio and video with PyAV (FFmpeg's libraries ship inside its wheel: no ffmpeg binary needed).

``probe`` opens a file and reads its container header (streams, duration, title) without decoding;
``stream_audio`` decodes the first audio stream to 16 kHz mono float32 one frame at a time, so a 3-hour file
never sits in memory whole (faster-whisper's ``decode_audio`` would hold all of it: ~0.7 GB for 3 hours).
Every FFmpeg failure becomes a one-line ``SourceError`` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from atlas.asr.base import SAMPLE_RATE, Audio
from atlas.errors import SourceError, require

NOT_MEDIA_HINT = "give an audio or video file FFmpeg can play: mp4, mkv, webm, mp3, m4a, wav, ..."


@dataclass(frozen=True, slots=True)
class MediaInfo:
    duration: float | None  # seconds; None when the container does not say
    title: str | None  # the container's title tag
    audio_streams: int
    video_streams: int


def _av() -> Any:
    return require("av", extra="media", purpose="Reading audio and video files")


def _open(path: Path) -> Any:
    av = _av()
    source = str(path)
    if not path.is_file():
        raise SourceError(source, "no such file" if not path.exists() else "not a regular file")
    if path.stat().st_size == 0:
        raise SourceError(source, "the file is empty", hint=NOT_MEDIA_HINT)
    try:
        return av.open(source, mode="r", metadata_errors="ignore")
    except PermissionError as exc:
        raise SourceError(source, "permission denied", hint="make the file readable, or copy it") from exc
    except av.error.FFmpegError as exc:
        reason = (getattr(exc, "strerror", None) or str(exc)).rstrip(".")
        raise SourceError(
            source, f"not a readable audio or video file (FFmpeg: {reason})", hint=NOT_MEDIA_HINT
        ) from exc


def probe(path: Path) -> MediaInfo:
    """The container's streams, duration and title; ``SourceError`` for anything FFmpeg cannot open."""
    with _open(path) as container:
        duration = container.duration / 1_000_000 if container.duration else None  # AV_TIME_BASE units
        if duration is None and container.streams.audio:
            stream = container.streams.audio[0]
            if stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
        title = (container.metadata.get("title") or "").strip() or None
        return MediaInfo(duration, title, len(container.streams.audio), len(container.streams.video))


def stream_audio(path: Path) -> Iterator[Audio]:
    """The first audio stream as consecutive 16 kHz mono float32 blocks (a few thousand samples each).

    A damaged packet is skipped, as players do, rather than failing a long recording for one glitch; a file
    in which no packet decodes at all is an error.
    """
    av = _av()
    source = str(path)
    with _open(path) as container:
        if not container.streams.audio:
            raise SourceError(source, "has no audio stream", hint="give a file with sound in it")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        decoded = damaged = 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    damaged += 1
                    continue
                for frame in frames:
                    decoded += 1
                    yield from _samples(resampler.resample(frame))
        except av.error.FFmpegError as exc:
            reason = (getattr(exc, "strerror", None) or str(exc)).rstrip(".")
            raise SourceError(
                source, f"cannot read the audio (FFmpeg: {reason})", hint=NOT_MEDIA_HINT
            ) from exc
        yield from _samples(resampler.resample(None))
        if not decoded:
            problem = f"{damaged} damaged audio packets and none readable" if damaged else "no audio data"
            raise SourceError(
                source, problem, hint="the file is corrupt or truncated; re-export or re-download it"
            )


def _samples(frames: list[Any]) -> Iterator[Audio]:
    for frame in frames:
        block: Audio = np.ascontiguousarray(frame.to_ndarray().reshape(-1), dtype=np.float32)
        if block.size:
            yield block
