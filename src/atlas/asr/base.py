"""What a speech recogniser provides: timed segments (with word times) for one piece of audio.

The pipeline (``atlas.asr.pipeline``) decodes a file in bounded chunks and hands them to a ``Transcriber``,
as many at once as it has workers; the transcriber knows nothing about files, caches or chunk offsets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from atlas.models import Segment

SAMPLE_RATE = 16_000  # Whisper's input: 16 kHz mono float32 in [-1, 1]

Audio = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ChunkTranscription:
    """The language spoken and the segments, produced lazily as the model decodes (so progress can be
    reported per segment). Segment and word times are relative to the chunk's first sample."""

    language: str | None
    segments: Iterator[Segment]


class Transcriber(Protocol):
    name: str  # e.g. "faster-whisper/tiny.en"; transcripts record it as origin "asr:<name>"
    workers: int  # how many ``transcribe`` calls may run at once, each in its own thread
    language: str | None  # the language of every transcription when the model fixes it (English-only: "en")

    def transcribe(self, audio: Audio, *, language: str | None = None) -> ChunkTranscription:
        """Transcribe 16 kHz mono audio; ``language`` None means detect it (English-only models say "en")."""
        ...
