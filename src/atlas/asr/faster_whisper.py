"""Whisper on the CPU through faster-whisper (CTranslate2, int8).

A loaded model is kept per (weights, threads) for the life of the process: loading costs ~1 s and ~300 MB,
and a batch of files or a playlist must pay it once. Loading is lazy: nothing is read until the first file
that needs transcribing.
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

BEAM_SIZE = 5  # faster-whisper's default; see benchmarks/bench_asr.py for greedy (1) against it

_loaded: dict[tuple[str, int], Any] = {}
_loading = threading.Lock()


class FasterWhisperTranscriber:
    """``Transcriber`` for faster-whisper: VAD on (silence is skipped, not decoded), word timestamps on (so
    sentence boundaries are exact rather than rounded to Whisper's segment edges)."""

    def __init__(
        self,
        model: Any,
        model_name: str,
        *,
        vad: bool = True,
        word_timestamps: bool = True,
        beam_size: int = BEAM_SIZE,
    ) -> None:
        self.model = model  # the loaded WhisperModel, shared by every transcriber of the same weights
        self.name = f"faster-whisper/{model_name}"
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
    vad: bool = True,
    word_timestamps: bool = True,
    beam_size: int = BEAM_SIZE,
) -> FasterWhisperTranscriber:
    """A transcriber for ``model_name`` (see ``atlas.asr.models``); the weights load once per process."""
    location = resolve_model(model_name)
    model = _load(location, threads or os.cpu_count() or 1)
    return FasterWhisperTranscriber(
        model, location.name, vad=vad, word_timestamps=word_timestamps, beam_size=beam_size
    )


def _load(location: ModelLocation, threads: int) -> Any:
    key = (location.path_or_id, threads)
    with _loading:
        if key not in _loaded:
            fw: Any = require("faster_whisper", extra="media", purpose="Transcribing audio")
            try:
                _loaded[key] = fw.WhisperModel(
                    location.path_or_id, device="cpu", compute_type="int8", cpu_threads=threads
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
