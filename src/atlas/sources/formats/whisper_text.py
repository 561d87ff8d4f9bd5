"""Whisper's console / ``.txt`` lines: ``[00:00:02.360 --> 00:00:05.900]   text``, or ``[mm:ss.mmm --> ...]``.

whisper.cpp, openai-whisper ``--verbose`` and many notebooks print this. The text is kept verbatim (Whisper's
``(audience applauds)`` included): unlike caption sound tags, there is no convention to tell them from speech.
"""

from __future__ import annotations

import re

from atlas.errors import SourceError
from atlas.models import Segment
from atlas.sources.formats._common import normalise_space, strip_bom

_TIME = r"(?:\d+:)?\d{1,2}:\d{1,2}(?:[.,]\d+)?"
_LINE = re.compile(rf"\s*\[\s*({_TIME})\s*-->\s*({_TIME})\s*\]\s?(.*)")
_TEXT_SUFFIXES = frozenset({".txt", ".text"})
_SNIFF_LINES = 20


def _seconds(stamp: str) -> float:
    seconds = 0.0
    for part in stamp.replace(",", ".").split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def looks_like_whisper_text(head: str) -> bool:
    """True when more than half of the first non-empty lines are ``[start --> end] text`` lines."""
    lines = [line for line in strip_bom(head).splitlines() if line.strip()][:_SNIFF_LINES]
    return bool(lines) and sum(_LINE.match(line) is not None for line in lines) * 2 > len(lines)


class WhisperTextFormat:
    name: str = "whisper-text"

    def sniff(self, path_suffix: str, head: str) -> bool:
        return path_suffix in _TEXT_SUFFIXES and looks_like_whisper_text(head)

    def parse(self, text: str, source: str) -> list[Segment]:
        segments: list[Segment] = []
        preamble: list[str] = []
        for line in strip_bom(text).splitlines():
            match = _LINE.match(line)
            if match is None:
                # An untimed line continues the segment above (wrapped text); one before any timestamp (a
                # title) joins the first segment, so no text is lost and no time is made up for it.
                if not line.strip():
                    continue
                if segments:
                    last = segments[-1]
                    segments[-1] = Segment(normalise_space(f"{last.text} {line}"), last.start, last.end)
                else:
                    preamble.append(line)
                continue
            body = normalise_space(match.group(3))
            if body:
                segments.append(Segment(body, _seconds(match.group(1)), _seconds(match.group(2))))
        if not segments:
            raise SourceError(
                source,
                "no Whisper timestamp lines found",
                hint="expected lines like '[00:00:00.000 --> 00:00:02.360]  text'",
            )
        if preamble:
            first = segments[0]
            segments[0] = Segment(normalise_space(" ".join([*preamble, first.text])), first.start, first.end)
        return segments
