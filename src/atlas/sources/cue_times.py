"""Cue times no player can use, repaired or dropped, with one warning per file that counts them.

A transcript (a hand-edited file, a broken converter) can carry times that are not a moment of any video:

- an end before its start (``00:00:09 --> 00:00:07``): the end is set to the start. Every sentence's times
  then lie inside its cue, so a hit's moment lies inside its window (start <= moment <= end);
- a time past ``MAX_SECONDS`` (48 h: longer than any recording people search; a 99,999-hour cue is a typo):
  a cue that starts there is dropped, an end there is set to the start;
- a negative time: a start is raised to 0; a cue that also ends before 0 is dropped;
- word times (Whisper JSON, word-timed captions) get the same rules, each word on its own.

``unreadable_timings`` looks at the file's text for the other half: lines shaped like a timing line that the
format could not read (``-00:00:05.000 --> ...``, an ``->`` arrow, ``0:0:0:13``). Their cue was dropped or
read as text by the parser, which a warning now says instead of doing it silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from atlas.models import Segment, Word

MAX_SECONDS = 48 * 3600.0

# A line that tries to be a timing line: two time-like stamps (a ':' or '.' in each) around an arrow.
_STAMP_LIKE = r"-?\d+[:.,][\d:.,]*"
_TIMING_LIKE = re.compile(rf"^\s*\[?\s*({_STAMP_LIKE})\s*-*>\s*({_STAMP_LIKE})")
# One the parsers read: [[h:]m:]s[.fff] on both sides of "-->".
_STAMP = r"\d+(?::\d{1,2}){0,2}(?:[.,]\d+)?"
_TIMING = re.compile(rf"^\s*\[?\s*{_STAMP}\s*-->\s*{_STAMP}(?![\d:.,])")

_WHAT = {
    "negative": "negative cue(s) dropped",
    "negative_start": "cue(s) starting before 0 started at 0",
    "late": f"cue(s) starting after {int(MAX_SECONDS // 3600)} h dropped",
    "late_end": f"cue end(s) after {int(MAX_SECONDS // 3600)} h set to the cue's start",
    "reversed": "cue(s) ending before they start: end set to start",
    "words": "cue(s) with impossible word times fixed",
}


def repair_times(segments: Sequence[Segment]) -> tuple[list[Segment], str | None]:
    """``segments`` with impossible times fixed or dropped, and a warning counting what changed (None when
    nothing did)."""
    counts: Counter[str] = Counter()
    kept: list[Segment] = []
    for segment in segments:
        fixed = _repair(segment, counts)
        if fixed is not None:
            kept.append(fixed)
    if not counts:
        return list(segments), None
    done = ", ".join(f"{counts[key]} {text}" for key, text in _WHAT.items() if counts[key])
    return kept, f"impossible cue times: {done}"


def _repair(segment: Segment, counts: Counter[str]) -> Segment | None:
    start, end = segment.start, segment.end
    if (end is not None and end < 0) or (start is not None and end is None and start < 0):
        counts["negative"] += 1
        return None
    if start is not None and start > MAX_SECONDS:
        counts["late"] += 1
        return None
    if start is not None and start < 0:
        counts["negative_start"] += 1
        start = 0.0
    if end is not None and end > MAX_SECONDS:
        counts["late_end"] += 1
        end = start
    if start is not None and end is not None and end < start:
        counts["reversed"] += 1
        end = start
    words = tuple(_word(w) for w in segment.words)
    if words != segment.words:
        counts["words"] += 1
    if (start, end, words) == (segment.start, segment.end, segment.words):
        return segment
    return replace(segment, start=start, end=end, words=words)


def _word(word: Word) -> Word:
    start = None if word.start is None else min(max(word.start, 0.0), MAX_SECONDS)
    end = None if word.end is None else min(max(word.end, 0.0), MAX_SECONDS)
    if start is not None and end is not None and end < start:
        end = start
    return word if (start, end) == (word.start, word.end) else Word(word.text, start, end)


def unreadable_timings(text: str, format_name: str) -> str | None:
    """A warning when lines of ``text`` look like cue timings the format could not read, else None."""
    bad = [line.strip() for line in text.splitlines() if _TIMING_LIKE.match(line) and not _TIMING.match(line)]
    if not bad:
        return None
    example = bad[0][:60]
    if format_name == "plain":
        return (
            f"read as untimed text: {len(bad)} line(s) look like timestamps but could not be read "
            f"(e.g. {example!r}); Whisper text lines look like '[00:00:00.000 --> 00:00:02.360] text'"
        )
    return (
        f"{len(bad)} timing line(s) could not be read (e.g. {example!r}); "
        "their cues were dropped or read as text"
    )
