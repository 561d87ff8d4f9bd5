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

Live-stream captions (YouTube live: HLS subtitle fragments joined by a downloader) repeat the ``WEBVTT``
header before every fragment, each with an ``X-TIMESTAMP-MAP=LOCAL:...,MPEGTS:...`` line, and cue and inline
times that restart at 0. Each fragment is read on its own and shifted onto the first fragment's timeline
(``cue - LOCAL + (MPEGTS - first MPEGTS) / 90000``), so a single-header file keeps its times unchanged. Such
captions also split words across timed chunks (``An<00:00:00.210><c>d</c>``): chunk texts are joined and only
whitespace separates words, so "An" + "d" is the word "And", timed where it began.

Voice tags (``<v Dan>``, as Podcasting 2.0 hosts write them) and "Dan:" prefixes name each segment's
``speaker`` in cue-by-cue files; the name is never part of the text. Word-timed files carry no speakers.

Timing lines without hours (``14:05.980``) or with bare seconds (``0.000 --> 3.480``), which some podcast
tools write, are read too (webvtt-py would silently skip the bare-seconds cues).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from atlas.errors import SourceError
from atlas.models import Segment, Word
from atlas.sources.formats._common import (
    MARKUP,
    Cue,
    carried_over,
    clean_caption_line,
    cues_with_speakers,
    extend_last,
    is_annotation,
    is_contiguous,
    merge_cues,
    strip_bom,
)

_TIMESTAMP_TAG = re.compile(r"<((?:\d+:)?\d{1,2}:\d{2}\.\d{3})>")
_HEADER_LINE = re.compile(r"^WEBVTT(?:[ \t].*)?$", re.MULTILINE)
_TIMESTAMP_MAP = re.compile(r"^X-TIMESTAMP-MAP=(?P<value>.*)$", re.MULTILINE)
_TIMING_LINE = re.compile(
    r"^(?P<start>[\d:.]+)(?P<arrow>[ \t]+-->[ \t]+)(?P<end>[\d:.]+)(?P<rest>.*)$", re.MULTILINE
)
_LOOSE_STAMP = re.compile(r"(?:(?:(\d+):)?(\d{1,2}):)?(\d{1,5})(?:\.(\d{1,3}))?")
_SPEAKER_MARK = re.compile(r"^>{2,}$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+(?P<name>[^>]+)>")
MPEGTS_HZ = 90_000


@dataclass(frozen=True, slots=True)
class _RawCue:
    """A cue as written, its times moved onto the file's timeline (``offset`` is for its inline tags)."""

    start: float
    end: float
    lines: tuple[str, ...]
    offset: float


def _seconds(stamp: str) -> float:
    seconds = 0.0
    for part in stamp.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _full_stamp(stamp: str) -> str:
    """``14:05.980`` / ``3.48`` -> ``00:14:05.980`` / ``00:00:03.480``; anything else is left as is."""
    match = _LOOSE_STAMP.fullmatch(stamp)
    if match is None:
        return stamp
    hours, minutes, seconds, millis = match.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}.{(millis or '0').ljust(3, '0')}"


def _normalise_timings(text: str) -> str:
    return _TIMING_LINE.sub(
        lambda m: _full_stamp(m["start"]) + m["arrow"] + _full_stamp(m["end"]) + m["rest"], text
    )


def _timestamp_map(header: str) -> tuple[float, float] | None:
    """``(LOCAL seconds, MPEGTS seconds)`` of a fragment header's ``X-TIMESTAMP-MAP``, if it has one."""
    found = _TIMESTAMP_MAP.search(header)
    if found is None:
        return None
    fields = dict(part.split(":", 1) for part in found["value"].split(",") if ":" in part)
    try:
        local = _seconds(fields.get("LOCAL", "0").strip())
        mpegts = int(fields.get("MPEGTS", "0").strip()) / MPEGTS_HZ
    except ValueError:
        return None
    return local, mpegts


def _fragments(text: str) -> Iterator[tuple[str, float]]:
    """The file cut at each ``WEBVTT`` header line; each with its shift onto the first one's clock."""
    starts = [m.start() for m in _HEADER_LINE.finditer(text)] or [0]
    if starts[0] != 0:
        starts[0] = 0  # anything before the first header is left for webvtt-py to refuse
    base: tuple[float, float] | None = None
    for begin, stop in zip(starts, [*starts[1:], len(text)], strict=True):
        fragment = text[begin:stop]
        mapping = _timestamp_map(fragment.split("\n\n", 1)[0])
        if mapping is None:
            yield fragment, 0.0
            continue
        if base is None:
            base = mapping
        local, mpegts = mapping
        yield fragment, base[0] - local + (mpegts - base[1])


def _read_cues(text: str) -> list[_RawCue]:
    cues: list[_RawCue] = []
    for fragment, offset in _fragments(_normalise_timings(text)):
        for caption in webvtt.from_string(fragment).captions:
            start = caption.start_time.in_milliseconds() / 1000 + offset
            end = caption.end_time.in_milliseconds() / 1000 + offset
            cues.append(_RawCue(round(start, 3), round(end, 3), tuple(caption.lines), offset))
    return cues


def _timed_chunks(lines: Sequence[str], cue_start: float, offset: float) -> list[tuple[float, str, bool]]:
    """Raw cue lines cut at timestamp tags into ``(start, raw text, begins a line)``; untagged text starts at
    the cue. Inline tags are on the fragment's own clock: ``offset`` moves them onto the file's."""
    chunks: list[tuple[float, str, bool]] = []
    for line in lines:
        at, position, first = cue_start, 0, True
        for match in _TIMESTAMP_TAG.finditer(line):
            chunks.append((at, line[position : match.start()], first))
            at, position, first = round(_seconds(match.group(1)) + offset, 3), match.end(), False
        chunks.append((at, line[position:], first))
    return chunks


def _markup_free(raw: str) -> str:
    """Chunk text without tags and entities, its edge spaces kept: they are the word boundaries."""
    return html.unescape(MARKUP.sub("", raw)).replace("\t", " ")


def _chunk_words(chunks: Sequence[tuple[float, str, bool]]) -> list[tuple[float, str]]:
    """Words as ``(start, text)``: chunk texts joined, split only at whitespace and line breaks, so a word cut
    across chunks ("An" + "d") is one word timed where it began."""
    words: list[tuple[float, str]] = []
    open_word = False
    for at, raw, begins_line in chunks:
        text = _markup_free(raw)
        if begins_line:
            open_word = False
        if not text:
            continue
        if open_word and not text[0].isspace():
            first, space, rest = text.partition(" ")
            words[-1] = (words[-1][0], words[-1][1] + first)
            if not space:
                continue  # the whole chunk continued the word, which is still open
            text = " " + rest
        words.extend((at, token) for token in text.split())
        open_word = bool(words) and not text[-1].isspace()
    return words


def _words(lines: Sequence[str], cue: _RawCue, floor: float) -> list[Word]:
    """Words of the new lines of one cue. A word ends where the next word starts, the last at cue end.

    ``floor`` is the previous word's start: clamping to it keeps times non-decreasing even in a file whose
    tags go backwards. Several words in one chunk (rare) share the chunk's span rather than invented times.
    """
    raw_words = _chunk_words(_timed_chunks(lines, cue.start, cue.offset))
    starts: list[float] = []
    for at, _ in raw_words:
        floor = max(at, floor)
        starts.append(floor)
    spans = [
        (text, start, max(next_start, start))
        for (_, text), start, next_start in zip(raw_words, starts, [*starts[1:], cue.end], strict=False)
    ]
    # Sound tags ("[Music]", YouTube's censored "[ __ ]") and ">>" are dropped; their time still ends the
    # word before them.
    kept: list[Word] = []
    i = 0
    while i < len(spans):
        text, start, end = spans[i]
        if text.startswith("["):
            close = next((j for j in range(i, min(i + 8, len(spans))) if spans[j][0].endswith("]")), None)
            if close is not None and is_annotation(" ".join(s[0] for s in spans[i : close + 1])):
                i = close + 1
                continue
        if not (_SPEAKER_MARK.match(text) or is_annotation(text)):
            kept.append(Word(text, start, end))
        i += 1
    return kept


def _word_timed(cues: Sequence[_RawCue]) -> list[Segment]:
    segments: list[Segment] = []
    previous: tuple[str, ...] = ()
    previous_end: float | None = None
    floor = 0.0
    for cue in cues:
        lines = [(raw, text) for raw in cue.lines if (text := clean_caption_line(raw, entities=True))]
        if not lines:
            continue
        cleaned = tuple(text for _, text in lines)
        k = carried_over(previous, cleaned) if is_contiguous(previous_end, cue.start) else 0
        previous, previous_end = cleaned, cue.end
        words = _words([raw for raw, _ in lines[k:]], cue, floor)
        if not words:
            extend_last(segments, cue.end)
            continue
        floor = words[-1].start if words[-1].start is not None else floor
        text = " ".join(word.text for word in words)
        segments.append(Segment(text=text, start=words[0].start, end=max(cue.end, floor), words=tuple(words)))
    return segments


def _voice(raw: str, current: str | None) -> str | None:
    """The speaker of a ``<v Dan>`` tag in a raw cue line; a line without one continues the cue's voice."""
    found = _VOICE.search(raw)
    if found is None:
        return current
    return " ".join(html.unescape(found["name"]).split()) or None


def _plain_cues(cues: Sequence[_RawCue]) -> list[Segment]:
    voices: list[list[str | None]] = []
    for cue in cues:
        voice: str | None = None
        line_voices: list[str | None] = []
        for raw in cue.lines:
            voice = _voice(raw, voice)
            line_voices.append(voice)
        voices.append(line_voices)
    cleaned = [
        Cue(
            start=cue.start,
            end=cue.end,
            lines=tuple(clean_caption_line(raw, entities=True) for raw in cue.lines),
        )
        for cue in cues
    ]
    return merge_cues(cues_with_speakers(cleaned, voices))


class WebVTTFormat:
    name: str = "vtt"

    def sniff(self, path_suffix: str, head: str) -> bool:
        return path_suffix == ".vtt" or strip_bom(head).startswith("WEBVTT")

    def parse(self, text: str, source: str) -> list[Segment]:
        try:
            cues = _read_cues(strip_bom(text))
        except MalformedFileError as exc:
            raise SourceError(
                source,
                "not a WebVTT file: first line must be WEBVTT",
                hint="check the file is WebVTT captions; SubRip captions need the .srt suffix",
            ) from exc
        except (MalformedCaptionError, ValueError) as exc:
            raise SourceError(source, f"cannot read WebVTT captions: {exc}") from exc
        if not cues:
            raise SourceError(
                source,
                "no caption cues found in this WebVTT file",
                hint="a cue is a line like '00:00:01.000 --> 00:00:04.000' followed by its text",
            )
        if any(_TIMESTAMP_TAG.search(raw) for cue in cues for raw in cue.lines):
            return _word_timed(cues)
        return _plain_cues(cues)
