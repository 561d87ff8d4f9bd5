"""One audio/video file to a timed transcript: cache lookup, streamed decode, chunking, Whisper, cache write.

Chunks are transcribed side by side, one per transcriber worker, while the next is decoded: on two cores two
single-thread workers run ~1.3x faster than one model using both threads (benchmarks/bench_asr.py), and a
7-minute talk is cut into two chunks so that both workers have one (``balanced_chunk_seconds``).

Memory stays bounded whatever the length: PyAV decodes frame by frame, ``chunk_at_pauses`` holds one chunk
(at most 10 min, 38 MB) plus the frames that arrived since, and no more than ``workers`` chunks are being
transcribed at once; each is dropped when done. Segment and word times are shifted by the chunk's offset,
counted in samples.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from atlas.asr.audio import probe, stream_audio
from atlas.asr.base import ChunkTranscription, Transcriber
from atlas.asr.cache import TranscriptCache
from atlas.asr.chunks import CHUNK_SECONDS, AudioChunk, balanced_chunk_seconds, chunk_at_pauses
from atlas.asr.models import choose_model
from atlas.asr.pauses import find_pauses, fit_words_to_pauses
from atlas.errors import SourceError
from atlas.models import ProgressFn, Segment, Transcript, Word

STAGE = "transcribe"


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """How to transcribe: the user's model and beam (None: chosen here), and the caller's threads, transcript
    cache and progress hook (sources fill it from their ingest: ``SourceContext.transcribing``)."""

    model: str | None = None  # None: ``choose_model`` picks by the language, when known
    beam: int | None = None  # None: atlas.asr.faster_whisper.BEAM_SIZE
    threads: int | None = None
    cache_dir: Path | None = None  # transcripts are cached under it; None: not cached
    progress: ProgressFn | None = None

    def report(self, stage: str, done: float, total: float | None = None) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


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


def transcribe_file(
    path: Path, options: TranscribeOptions, *, key: str, language: str | None = None
) -> Transcript:
    """The transcript of the speech in ``path`` (any FFmpeg-readable audio or video), from the cache when
    ``key`` was transcribed before with the same model. ``language``, when the source knows it, picks the
    model if the user did not (``choose_model``). ``SourceError`` for unreadable media or no speech."""
    model = choose_model(options.model, language)
    origin = asr_origin(model)
    cache = TranscriptCache(options.cache_dir / "transcripts") if options.cache_dir else None
    transcript = cache.get(key, origin) if cache else None
    if transcript is None:
        from atlas.asr.faster_whisper import BEAM_SIZE, load_transcriber

        beam = options.beam or BEAM_SIZE
        transcriber = load_transcriber(model, threads=options.threads, beam_size=beam)
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
    options: TranscribeOptions,
    *,
    chunk_seconds: float = CHUNK_SECONDS,
) -> Transcript:
    """Transcribe ``path`` chunk by chunk, reporting ("transcribe", audio seconds done, total) as it goes."""
    global _stats
    total = probe(path).duration
    options.report(STAGE, 0.0, total)

    def progress(seconds: float) -> None:
        options.report(STAGE, seconds if total is None else min(seconds, total), total)

    limit = balanced_chunk_seconds(total, transcriber.workers, chunk_seconds=chunk_seconds)
    with _SideBySide(transcriber, progress) as chunks:
        for chunk in chunk_at_pauses(stream_audio(path), chunk_seconds=limit):
            chunks.submit(chunk)
        segments = chunks.finish()
    done = chunks.audio_seconds
    options.report(STAGE, done, done)  # complete, even where the container over-estimated the length
    with _stats_lock:
        _stats = TranscriptionStats(_stats.files + 1, _stats.audio_seconds + done)
    return Transcript(segments=tuple(segments), origin=f"asr:{transcriber.name}", language=chunks.language)


_Event = tuple[int, Segment | None, BaseException | None]  # (chunk, a segment or None when done, its error)


class _SideBySide:
    """Chunks transcribed on the transcriber's workers, at most one per worker at a time (``submit`` waits for
    a free worker, so memory stays bounded), their segments kept in audio order and shifted to stream time.
    Progress and errors are handled in the caller's thread; an error or Ctrl-C stops the other chunks at
    their next segment."""

    def __init__(self, transcriber: Transcriber, progress: Callable[[float], None]) -> None:
        self._transcriber = transcriber
        self._progress = progress
        self._pool = ThreadPoolExecutor(transcriber.workers, thread_name_prefix="atlas-asr")
        self._events: queue.Queue[_Event] = queue.Queue()
        self._stop = threading.Event()
        self._spans: list[tuple[float, float]] = []  # (offset, duration) of each chunk submitted
        self._segments: list[list[Segment]] = []
        self._covered: list[float] = []  # audio seconds of each chunk transcribed so far
        self._running = 0
        # The first chunk's language holds for the rest: detecting it per chunk could flip on a quiet one.
        self.language = transcriber.language

    def __enter__(self) -> _SideBySide:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def audio_seconds(self) -> float:
        return sum(duration for _, duration in self._spans)

    def submit(self, chunk: AudioChunk) -> None:
        while self._running >= self._transcriber.workers:
            self._handle(self._events.get())
        started: ChunkTranscription | None = None
        if self.language is None:  # the first chunk tells the language the others are decoded in
            started = self._transcriber.transcribe(chunk.samples)
            self.language = started.language
        self._spans.append((chunk.offset, chunk.duration))
        self._segments.append([])
        self._covered.append(0.0)
        self._running += 1
        self._pool.submit(self._work, len(self._spans) - 1, chunk, started, self.language)

    def finish(self) -> list[Segment]:
        while self._running:
            self._handle(self._events.get())
        return [segment for chunk_segments in self._segments for segment in chunk_segments]

    def _work(
        self, index: int, chunk: AudioChunk, started: ChunkTranscription | None, language: str | None
    ) -> None:
        try:
            result = started or self._transcriber.transcribe(chunk.samples, language=language)
            # Whisper's word times hide most pauses; the chunk's audio shows them (pauses.py), so pieces can
            # be cut where the speaker paused and a pin can land on the line that answers.
            pauses = find_pauses(chunk.samples)
            for segment in result.segments:
                if self._stop.is_set():
                    break
                fitted = fit_words_to_pauses(segment, pauses)
                self._events.put((index, _shifted(fitted, chunk.offset), None))
            self._events.put((index, None, None))
        except BaseException as exc:  # handed to the caller's thread, which raises it
            self._events.put((index, None, exc))

    def _handle(self, event: _Event) -> None:
        index, segment, error = event
        if error is not None:
            raise error
        offset, duration = self._spans[index]
        if segment is None:
            self._running -= 1
            self._covered[index] = duration
        else:
            self._segments[index].append(segment)
            reached = (segment.end or 0.0) - offset
            self._covered[index] = min(duration, max(self._covered[index], reached))
        self._progress(sum(self._covered))


def _shifted(segment: Segment, offset: float) -> Segment:
    if not offset:
        return segment

    def at(t: float | None) -> float | None:
        return None if t is None else round(t + offset, 3)

    words = tuple(Word(w.text, at(w.start), at(w.end)) for w in segment.words)
    return replace(segment, start=at(segment.start), end=at(segment.end), words=words)
