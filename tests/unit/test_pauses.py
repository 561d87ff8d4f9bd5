"""Pauses measured in the audio and written into word times (atlas.asr.pauses)."""

from __future__ import annotations

import numpy as np

from atlas.asr.base import SAMPLE_RATE
from atlas.asr.pauses import find_pauses, fit_words_to_pauses
from atlas.models import Segment, Word


def _voiced(seconds: float, rng: np.random.Generator, gain: float = 0.3) -> np.ndarray:
    """A stand-in for speech: a loud, wobbling tone with noise (anything far above the floor will do)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (gain * (tone + 0.2 * rng.standard_normal(len(t)))).astype(np.float32)


def _quiet(seconds: float, rng: np.random.Generator, gain: float = 0.3) -> np.ndarray:
    """Room noise 50 dB under the speech."""
    return (gain * 0.003 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def _recording(gain: float) -> np.ndarray:
    rng = np.random.default_rng(7)
    parts = [
        _voiced(1.0, rng, gain),
        _quiet(0.4, rng, gain),  # a pause between two lines: found
        _voiced(1.2, rng, gain),
        _quiet(0.08, rng, gain),  # a stop consonant's closure: too short to be a pause
        _voiced(0.8, rng, gain),
        _quiet(1.0, rng, gain),  # a pause before a paragraph: found
        _voiced(0.6, rng, gain),
    ]
    return np.concatenate(parts)


def test_pauses_are_the_long_quiet_stretches_whatever_the_gain() -> None:
    for gain in (0.5, 0.005):  # a recording 40 dB quieter finds the same pauses: the level is relative
        pauses = find_pauses(_recording(gain))
        assert len(pauses) == 2, pauses
        (a1, b1), (a2, b2) = pauses
        assert abs(a1 - 1.0) <= 0.03 and abs(b1 - 1.4) <= 0.03
        assert abs(a2 - 3.48) <= 0.03 and abs(b2 - 4.48) <= 0.03


def test_no_pauses_in_audio_too_short_or_without_any() -> None:
    rng = np.random.default_rng(3)
    assert find_pauses(np.zeros(10, dtype=np.float32)) == []
    assert find_pauses(_voiced(2.0, rng)) == []


def _segment(*words: tuple[str, float, float]) -> Segment:
    return Segment(
        " ".join(w for w, _, _ in words), words[0][1], words[-1][2], tuple(Word(*w) for w in words)
    )


def _times(segment: Segment) -> list[tuple[float | None, float | None]]:
    return [(w.start, w.end) for w in segment.words]


def test_a_word_stretched_over_a_pause_ends_where_the_pause_begins() -> None:
    stretched = _segment(("the", 0.0, 0.5), ("line", 0.5, 1.6), ("next", 1.6, 2.0))
    fitted = fit_words_to_pauses(stretched, [(1.2, 1.5)])
    assert _times(fitted) == [(0.0, 0.5), (0.5, 1.2), (1.6, 2.0)]
    assert [w.text for w in fitted.words] == ["the", "line", "next"]


def test_a_word_started_inside_a_pause_starts_where_it_ends() -> None:
    run_together = _segment(("end", 0.0, 1.2), ("start", 1.2, 2.0))
    fitted = fit_words_to_pauses(run_together, [(1.0, 1.5)])
    assert _times(fitted) == [(0.0, 1.0), (1.5, 2.0)]


def test_a_segment_that_starts_in_silence_starts_with_its_speech() -> None:
    early = _segment(("hello", 0.0, 0.9), ("there", 0.9, 1.3))
    fitted = fit_words_to_pauses(early, [(0.0, 0.5), (1.3, 2.0)])
    assert _times(fitted) == [(0.5, 0.9), (0.9, 1.3)]
    assert (fitted.start, fitted.end) == (0.5, 1.3)


def test_what_no_pause_touches_is_left_as_it_was() -> None:
    segment = _segment(("one", 1.0, 1.4), ("two", 1.5, 2.0))
    assert fit_words_to_pauses(segment, []) is segment
    assert fit_words_to_pauses(segment, [(0.0, 0.8), (2.2, 3.0)]) is segment
    assert fit_words_to_pauses(segment, [(1.4, 1.5)]) is segment  # already a gap between the words
    untimed = Segment("one two", 0.0, 1.0, (Word("one"), Word("two")))
    assert fit_words_to_pauses(untimed, [(0.2, 0.6)]) is untimed
