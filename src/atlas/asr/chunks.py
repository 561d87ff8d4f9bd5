"""Cutting a stream of audio into bounded chunks at quiet points.

Why cut at a pause instead of overlapping chunks: with an overlap, the same words are transcribed twice and
the two transcriptions must be merged; Whisper often words the seam differently in each (a word split,
punctuation moved, a hallucinated tail), so a merge by text or by time either doubles or drops words. Cutting
where the audio is quietest gives every sample to exactly one chunk, so a word can only be transcribed once,
and a word is never cut in half as long as the search span holds a pause (running speech pauses every few
seconds; the span is 30 s). Time offsets stay exact because they are counted in samples.

Chunks are transcribed side by side, one per worker; ``balanced_chunk_seconds`` sizes them so that every
worker gets the same share of a file (two chunks for a 7-minute talk on two cores, not one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from atlas.asr.base import SAMPLE_RATE, Audio

# Memory is bounded by the part, not the file: 10 minutes of 16 kHz float32 is 38 MB, and faster-whisper's
# feature extractor peaks at ~0.8 MB per second of the part it is given (~0.5 GB per worker at the cap).
# Shorter parts save some of that but cost accuracy: each part restarts Whisper's previous-text context.
CHUNK_SECONDS = 600.0
SEARCH_SECONDS = 30.0  # look for the quietest point in the last 30 s before the chunk limit
FRAME_SECONDS = 0.02
MIN_CHUNK_SECONDS = 60.0  # each chunk restarts Whisper's running context: not worth it for less
SMOOTH_SECONDS = 0.3  # a pause must be this long to count: the gap between words, not a plosive's silence


@dataclass(frozen=True, slots=True)
class AudioChunk:
    start_sample: int  # index of the chunk's first sample in the whole stream
    samples: Audio

    @property
    def offset(self) -> float:
        return self.start_sample / SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def frame_energy(samples: Audio, *, rate: int = SAMPLE_RATE) -> tuple[npt.NDArray[np.floating], int]:
    """Mean energy of each whole FRAME_SECONDS frame of ``samples``, and the frame's length in samples."""
    frame = max(1, int(FRAME_SECONDS * rate))
    frames = len(samples) // frame
    framed = samples[: frames * frame].reshape(frames, frame)
    return np.einsum("ij,ij->i", framed, framed) / frame, frame  # no squared copy of the whole span


def quiet_runs(quiet: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The runs of True in ``quiet`` as half-open (first, end) frame indexes, in order."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def quietest_point(samples: Audio, *, rate: int = SAMPLE_RATE) -> int:
    """Index of the middle of the longest, quietest stretch of ``samples`` (energy smoothed over 0.3 s)."""
    energy, frame = frame_energy(samples, rate=rate)
    frames = len(energy)
    if frames < 2:
        return len(samples) // 2
    width = max(1, min(frames, round(SMOOTH_SECONDS / FRAME_SECONDS)))
    smoothed = np.convolve(energy, np.ones(width) / width, mode="same")
    quiet = smoothed <= smoothed.min() * 1.5 + 1e-12  # digital silence ties at zero: keep the whole run
    # The first of the longest runs (the minimum itself is always quiet, so there is one).
    best_start, best_end = max(quiet_runs(quiet), key=lambda run: run[1] - run[0])
    return (best_start + (best_end - best_start) // 2) * frame + frame // 2


def chunk_at_pauses(
    blocks: Iterable[Audio],
    *,
    chunk_seconds: float = CHUNK_SECONDS,
    search_seconds: float = SEARCH_SECONDS,
    rate: int = SAMPLE_RATE,
) -> Iterator[AudioChunk]:
    """Consecutive chunks of at most ``chunk_seconds``, each ending at the quietest point of its last
    ``search_seconds``; together they hold every sample of ``blocks`` exactly once, in order."""
    limit = int(chunk_seconds * rate)
    search = max(1, min(int(search_seconds * rate), limit // 2))
    pending: list[Audio] = []
    pending_samples = 0
    start = 0
    for block in blocks:
        pending.append(block)
        pending_samples += len(block)
        while pending_samples >= limit:
            buffer = np.concatenate(pending)
            cut = limit - search + quietest_point(buffer[limit - search : limit], rate=rate)
            yield AudioChunk(start, buffer[:cut])
            start += cut
            pending, pending_samples = [buffer[cut:].copy()], len(buffer) - cut  # drop the big buffer
    if pending_samples:
        yield AudioChunk(start, np.concatenate(pending))


def balanced_chunk_seconds(
    total: float | None,
    workers: int,
    *,
    chunk_seconds: float = CHUNK_SECONDS,
    search_seconds: float = SEARCH_SECONDS,
    min_seconds: float = MIN_CHUNK_SECONDS,
) -> float:
    """The chunk limit that splits a ``total``-second file into a multiple of ``workers`` chunks of about
    equal length, none over ``chunk_seconds``: workers that transcribe chunks side by side finish together.
    Each cut falls in the last ``search_seconds`` before the limit, so the limit is the even share plus that
    span: every chunk but the last is between the share and the limit, and the last takes what is left."""
    if not total or workers <= 1:
        return chunk_seconds
    search = min(search_seconds, chunk_seconds / 2)  # as chunk_at_pauses narrows it
    count = workers * math.ceil(total / (workers * (chunk_seconds - search)))
    return min(chunk_seconds, max(min_seconds, total / count + search))
