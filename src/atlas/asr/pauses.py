"""Pauses measured in the audio, written into Whisper's word times.

Whisper's word timestamps (aligned by its cross-attention) run words together: the word before a pause is
stretched over the silence, or the word after it starts inside the silence, so two timed words seldom show
the gap the speaker left (on the espeak-ng benchmark talks, most line boundaries have no gap between the
words at all). Pieces (chunking/pieces.py) cut long sentences at spoken pauses, so a pause hidden this way
cannot be cut at, and a pin lands at the start of a 10-second run instead of at the line that answers.

The audio shows the pauses plainly: frames far quieter than the speech around them. Each such silence is
written into the word times around it (the word before ends where the silence starts, the word after starts
where it ends); nothing else changes: the words, their order and every time outside a silence stay as
Whisper gave them.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from atlas.asr.base import SAMPLE_RATE, Audio
from atlas.asr.chunks import frame_energy, quiet_runs
from atlas.models import Segment, Word

# A frame is silent when its energy is this far below the loud frames' (the 95th percentile: speech at full
# voice, whatever the recording's gain). 35 dB down is well under soft speech and above most room noise.
QUIET_DB = -35.0
LOUD_PERCENTILE = 95.0
# Shorter quiet stretches are the closures of stop consonants (50-100 ms), not pauses.
MIN_PAUSE_SECONDS = 0.15


def find_pauses(samples: Audio, *, rate: int = SAMPLE_RATE) -> list[tuple[float, float]]:
    """The silent stretches of ``samples`` at least MIN_PAUSE_SECONDS long, as (start, end) seconds."""
    energy, frame = frame_energy(samples, rate=rate)
    if len(energy) < 2:
        return []
    level = 10.0 * np.log10(energy + 1e-12)
    quiet = level < np.percentile(level, LOUD_PERCENTILE) + QUIET_DB
    seconds = frame / rate
    min_frames = MIN_PAUSE_SECONDS / seconds
    return [(on * seconds, off * seconds) for on, off in quiet_runs(quiet) if off - on >= min_frames]


def fit_words_to_pauses(segment: Segment, pauses: Sequence[tuple[float, float]]) -> Segment:
    """``segment`` with each pause that overlaps its words moved out of them, at the word boundary nearest
    the pause (also before its first word and after its last one). ``pauses``: sorted, in the segment's
    time."""
    words = list(segment.words)
    if not words or not pauses or any(w.start is None or w.end is None for w in words):
        return segment
    first, last = words[0].start, words[-1].end
    assert first is not None and last is not None
    changed = False
    for index in range(max(0, bisect.bisect_left(pauses, first, key=lambda p: p[0]) - 1), len(pauses)):
        quiet_from, quiet_to = pauses[index]
        if quiet_from >= last:
            break
        if quiet_to <= first:
            continue
        middle = (quiet_from + quiet_to) / 2
        k = _nearest_boundary(words, middle)
        if k > 0:
            before = words[k - 1]
            if before.start < quiet_from < before.end:  # type: ignore[operator]
                words[k - 1] = replace(before, end=quiet_from)
                changed = True
        if k < len(words):
            after = words[k]
            if after.start < quiet_to < after.end:  # type: ignore[operator]
                words[k] = replace(after, start=quiet_to)
                changed = True
    if not changed:
        return segment
    # The segment's own bounds follow its first and last words only where those moved.
    start = words[0].start if words[0] is not segment.words[0] else segment.start
    end = words[-1].end if words[-1] is not segment.words[-1] else segment.end
    return replace(segment, start=start, end=end, words=tuple(words))


def _nearest_boundary(words: Sequence[Word], at: float) -> int:
    """The k whose boundary (before word k; ``len(words)``: after the last) lies nearest ``at``."""

    def time_of(k: int) -> float:
        if k == 0:
            return words[0].start  # type: ignore[return-value]
        if k == len(words):
            return words[-1].end  # type: ignore[return-value]
        return (words[k - 1].end + words[k].start) / 2  # type: ignore[operator]

    return min(range(len(words) + 1), key=lambda k: abs(time_of(k) - at))
