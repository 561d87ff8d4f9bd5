"""One audio/video file to a timed transcript: cache lookup, streamed decode, chunking, Whisper, cache write.

Memory stays bounded whatever the length: PyAV decodes frame by frame, ``chunk_at_pauses`` holds at most one
chunk (10 min, 38 MB) plus the frames that arrived since, and each chunk is transcribed and dropped before
the next is read. Segment and word times are shifted by the chunk's offset, counted in samples.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from atlas.asr.audio import probe, stream_audio
from atlas.asr.base import Transcriber
from atlas.asr.cache import TranscriptCache
from atlas.asr.chunks import CHUNK_SECONDS, chunk_at_pauses
from atlas.errors import SourceError
from atlas.models import Segment, Transcript, Word
from atlas.sources.base import SourceOptions

STAGE = "transcribe"


@dataclass(frozen=True, slots=True)
class TranscriptionStats:
    """What this process has transcribed (cache hits excluded): lets callers and tests see that a re-run
    took its transcript from the cache."""

    files: int = 0
    audio_seconds: float = 0.0


_stats = TranscriptionStats()
_stats_lock = threading.Lock()


def transcription_stats() -> TranscriptionStats:
    return _stats


def asr_origin(model_name: str) -> str:
    return f"asr:faster-whisper/{model_name}"


def transcribe_file(path: Path, options: SourceOptions, *, key: str) -> Transcript:
    """The transcript of the speech in ``path`` (any FFmpeg-readable audio or video), from the cache when
    ``key`` was transcribed before with the same model. ``SourceError`` for unreadable media or no speech."""
    origin = asr_origin(options.asr_model)
    cache = TranscriptCache(options.cache_dir / "transcripts") if options.cache_dir else None
    transcript = cache.get(key, origin) if cache else None
    if transcript is None:
        from atlas.asr.faster_whisper import load_transcriber

        transcriber = load_transcriber(options.asr_model, threads=options.threads)
        transcript = transcribe_stream(path, transcriber, options)
        if cache:
            cache.put(key, transcript)  # a silent file is cached too: it is not decoded again either
    if not transcript.segments:
        raise SourceError(
            str(path),
            "no speech found in this file",
            hint="it is silent or holds only music/noise; give a file with speech, or subtitles beside it",
        )
    return transcript


def transcribe_stream(
    path: Path,
    transcriber: Transcriber,
    options: SourceOptions,
    *,
    chunk_seconds: float = CHUNK_SECONDS,
) -> Transcript:
    """Transcribe ``path`` chunk by chunk, reporting ("transcribe", audio seconds done, total) as it goes."""
    global _stats
    total = probe(path).duration
    options.report(STAGE, 0.0, total)
    segments: list[Segment] = []
    language: str | None = None
    done = 0.0
    for chunk in chunk_at_pauses(stream_audio(path), chunk_seconds=chunk_seconds):
        # The first chunk's language holds for the rest: detecting it per chunk could flip on a quiet one.
        result = transcriber.transcribe(chunk.samples, language=language)
        language = language or result.language
        for segment in result.segments:
            segments.append(_shifted(segment, chunk.offset))
            done = max(done, chunk.offset + (segment.end or 0.0))
            options.report(STAGE, done if total is None else min(done, total), total)
        done = chunk.offset + chunk.duration
        options.report(STAGE, done if total is None else min(done, total), total)
    options.report(STAGE, done, done)  # complete, even where the container over-estimated the length
    with _stats_lock:
        _stats = TranscriptionStats(_stats.files + 1, _stats.audio_seconds + done)
    return Transcript(segments=tuple(segments), origin=f"asr:{transcriber.name}", language=language)


def _shifted(segment: Segment, offset: float) -> Segment:
    if not offset:
        return segment

    def at(t: float | None) -> float | None:
        return None if t is None else round(t + offset, 3)

    words = tuple(Word(w.text, at(w.start), at(w.end)) for w in segment.words)
    return replace(segment, start=at(segment.start), end=at(segment.end), words=words)
