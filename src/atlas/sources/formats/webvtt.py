"""WebVTT captions, manual ones and YouTube auto-captions (the rolling, word-timed shape yt-dlp downloads).

webvtt-py reads the file structure (header, cue blocks, timings); this module turns cues into segments.

A YouTube auto-caption cue looks like this (the first line is carried over from the cue before, the second is
new and timed word by word), followed by a 10 ms "transition" cue that repeats the new line alone::

    00:00:02.320 --> 00:00:05.190 align:start position:0%
    hi everyone welcome back to the channel
    today<00:00:02.639><c> we're</c><00:00:02.879><c> going</c>

    00:00:05.190 --> 00:00:05.200 align:start position:0%
    today we're going
    (a line holding one space)

When any cue carries inline ``<hh:mm:ss.mmm>`` timings the file is read word by word: each spoken word is kept
exactly once, with its own time. Otherwise every cue becomes one segment (see ``_common`` for both rules).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from atlas.errors import SourceError
from atlas.models import Segment, Word
from atlas.sources.formats._common import (
    Cue,
    carried_over,
    clean_caption_line,
    clean_text,
    extend_last,
    is_annotation,
    is_contiguous,
    merge_cues,
    strip_bom,
)

_TIMESTAMP_TAG = re.compile(r"<((?:\d+:)?\d{1,2}:\d{2}\.\d{3})>")


def _seconds(stamp: str) -> float:
    seconds = 0.0
    for part in stamp.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _timed_chunks(lines: Sequence[str], cue_start: float) -> list[tuple[float, str]]:
    """Raw cue lines cut at timestamp tags into ``(start, raw text)``; untagged text starts at the cue."""
    chunks: list[tuple[float, str]] = []
    at = cue_start
    for line in lines:
        position = 0
        for match in _TIMESTAMP_TAG.finditer(line):
            chunks.append((at, line[position : match.start()]))
            at, position = _seconds(match.group(1)), match.end()
        chunks.append((at, line[position:]))
    return chunks


def _words(lines: Sequence[str], cue_start: float, cue_end: float, floor: float) -> list[Word]:
    """Words of the new lines of one cue. A word ends where the next timed chunk starts, the last at cue end.

    ``floor`` is the previous word's start: clamping to it keeps times non-decreasing even in a file whose
    tags go backwards. Several words in one chunk (rare) share the chunk's span rather than invented times.
    """
    chunks = [(at, clean_text(raw, entities=True)) for at, raw in _timed_chunks(lines, cue_start)]
    chunks = [(at, text) for at, text in chunks if text]
    words: list[Word] = []
    for i, (at, text) in enumerate(chunks):
        start = max(at, floor)
        end = max(chunks[i + 1][0] if i + 1 < len(chunks) else cue_end, start)
        floor = start
        if not is_annotation(text):  # a timed "[Music]" chunk is dropped; its time still ends the word before
            words.extend(Word(token, start, end) for token in text.split())
    return words


def _word_timed(captions: Sequence[webvtt.Caption]) -> list[Segment]:
    segments: list[Segment] = []
    previous: tuple[str, ...] = ()
    previous_end: float | None = None
    floor = 0.0
    for caption in captions:
        start = caption.start_time.in_milliseconds() / 1000
        end = caption.end_time.in_milliseconds() / 1000
        lines = [(raw, text) for raw in caption.lines if (text := clean_caption_line(raw, entities=True))]
        if not lines:
            continue
        cleaned = tuple(text for _, text in lines)
        k = carried_over(previous, cleaned) if is_contiguous(previous_end, start) else 0
        previous, previous_end = cleaned, end
        words = _words([raw for raw, _ in lines[k:]], start, end, floor)
        if not words:
            extend_last(segments, end)
            continue
        floor = words[-1].start if words[-1].start is not None else floor
        text = " ".join(word.text for word in words)
        segments.append(Segment(text=text, start=words[0].start, end=end, words=tuple(words)))
    return segments


def _plain_cues(captions: Sequence[webvtt.Caption]) -> list[Segment]:
    return merge_cues(
        Cue(
            start=caption.start_time.in_milliseconds() / 1000,
            end=caption.end_time.in_milliseconds() / 1000,
            lines=tuple(clean_caption_line(raw, entities=True) for raw in caption.lines),
        )
        for caption in captions
    )


class WebVTTFormat:
    name: str = "vtt"

    def sniff(self, path_suffix: str, head: str) -> bool:
        return path_suffix == ".vtt" or strip_bom(head).startswith("WEBVTT")

    def parse(self, text: str, source: str) -> list[Segment]:
        try:
            captions = webvtt.from_string(strip_bom(text)).captions
        except MalformedFileError as exc:
            raise SourceError(
                source,
                "not a WebVTT file: first line must be WEBVTT",
                hint="check the file is WebVTT captions; SubRip captions need the .srt suffix",
            ) from exc
        except (MalformedCaptionError, ValueError) as exc:
            raise SourceError(source, f"cannot read WebVTT captions: {exc}") from exc
        if not captions:
            raise SourceError(
                source,
                "no caption cues found in this WebVTT file",
                hint="a cue is a line like '00:00:01.000 --> 00:00:04.000' followed by its text",
            )
        if any(_TIMESTAMP_TAG.search(raw) for caption in captions for raw in caption.lines):
            return _word_timed(captions)
        return _plain_cues(captions)
