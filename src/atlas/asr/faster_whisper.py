"""Whisper on the CPU through faster-whisper (CTranslate2, int8).

A loaded model is kept per (weights, threads, workers) for the life of the process: loading costs ~1 s and
~300 MB, and a batch of files or a playlist must pay it once. Loading is lazy: nothing is read until the first
file that needs transcribing.

Threads become workers first. Most of the time goes to decoding, one token at a time: a chain of small
matrix-vector products that a second CTranslate2 thread speeds up only ~1.3x, while two single-thread workers
transcribing two chunks at once keep both cores busy (~1.8x; benchmarks/bench_asr.py). The workers share one
copy of the weights (tiny.en: ~70 MB loaded, the same for 1, 2 or 4 workers).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

from atlas.asr.base import Audio, ChunkTranscription
from atlas.asr.models import BUNDLED_HINT, ModelLocation, resolve_model
from atlas.errors import DependencyMissingError, UserInputError, require
from atlas.models import Segment, Word

# Beam 3, not faster-whisper's 5: on 2 cores (benchmarks/bench_asr.py's 7.5-minute espeak-ng talk, and two
# more with other pauses) beam 3 used 10-18% less CPU for the same accuracy (WER 11.0% against 11.3%; over
# the three talks 12.2% against 11.8%, inside the ±1 point that a chunk moved by a few seconds gives) and
# the same sentence-start error; beam 2 saved little more and cost ~1.5 points, greedy ~3.
BEAM_SIZE = 3
MAX_WORKERS = 4  # chunks transcribed at once (each restarts Whisper's running context); 2 cores measured

_loaded: dict[tuple[str, int, int], Any] = {}
_loading = threading.Lock()


def worker_threads(threads: int, workers: int | None = None) -> tuple[int, int]:
    """How ``threads`` CPU threads are used: (workers, CTranslate2 threads per worker); by default one
    single-thread worker per thread, up to ``MAX_WORKERS``."""
    workers = max(1, workers or min(MAX_WORKERS, threads))
    return workers, max(1, threads // workers)


class FasterWhisperTranscriber:
    """``Transcriber`` for faster-whisper: VAD on (silence is skipped, not decoded), word timestamps on (so
    sentence boundaries are exact rather than rounded to Whisper's segment edges). Thread-safe: ``workers``
    calls run at once on one shared model."""

    def __init__(
        self,
        model: Any,
        model_name: str,
        *,
        workers: int = 1,
        vad: bool = True,
        word_timestamps: bool = True,
        beam_size: int = BEAM_SIZE,
    ) -> None:
        self.model = model  # the loaded WhisperModel, shared by every transcriber of the same weights
        self.name = f"faster-whisper/{model_name}"
        self.workers = workers
        self.language = None if model.model.is_multilingual else "en"
        self._vad = vad
        self._word_timestamps = word_timestamps
        self._beam_size = beam_size

    def transcribe(self, audio: Audio, *, language: str | None = None) -> ChunkTranscription:
        segments, info = self.model.transcribe(
            audio,
            language=language,
            vad_filter=self._vad,
            word_timestamps=self._word_timestamps,
            beam_size=self._beam_size,
        )
        return ChunkTranscription(language=info.language, segments=convert_segments(segments))


def convert_segments(segments: Any) -> Iterator[Segment]:
    """faster-whisper's segments as Atlas ones: text stripped, times as plain floats, empty ones dropped."""
    for segment in segments:
        text = segment.text.strip()
        if not text:
            continue
        words = tuple(
            Word(word.word.strip(), float(word.start), float(word.end))
            for word in segment.words or ()
            if word.word.strip()
        )
        yield Segment(text=text, start=float(segment.start), end=float(segment.end), words=words)


def load_transcriber(
    model_name: str,
    *,
    threads: int | None = None,
    workers: int | None = None,
    vad: bool = True,
    word_timestamps: bool = True,
    beam_size: int = BEAM_SIZE,
) -> FasterWhisperTranscriber:
    """A transcriber for ``model_name`` (see ``atlas.asr.models``) using ``threads`` CPU threads (default: all
    cores) split among ``workers`` (default: see ``worker_threads``; 1 decodes each chunk whole, in one
    running context); the weights load once per process."""
    location = resolve_model(model_name)
    workers, per_worker = worker_threads(threads or os.cpu_count() or 1, workers)
    model = _load(location, per_worker, workers)
    return FasterWhisperTranscriber(
        model,
        location.name,
        workers=workers,
        vad=vad,
        word_timestamps=word_timestamps,
        beam_size=beam_size,
    )


def _load(location: ModelLocation, threads: int, workers: int) -> Any:
    key = (location.path_or_id, threads, workers)
    with _loading:
        if key not in _loaded:
            fw: Any = require("faster_whisper", extra="media", purpose="Transcribing audio")
            try:
                _loaded[key] = fw.WhisperModel(
                    location.path_or_id,
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=threads,
                    num_workers=workers,
                )
            except ValueError as exc:  # faster-whisper's "Invalid model size"
                raise UserInputError(
                    f"unknown Whisper model '{location.name}'",
                    hint=f"{BUNDLED_HINT}, or a faster-whisper name such as small.en",
                ) from exc
            except (OSError, RuntimeError) as exc:  # offline hub download, unreadable weights
                raise DependencyMissingError(
                    f"Whisper model '{location.name}' is not installed and could not be downloaded "
                    f"({exc.__class__.__name__})",
                    hint=BUNDLED_HINT,
                ) from exc
        return _loaded[key]
