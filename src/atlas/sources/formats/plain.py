"""Plain text with no times at all: segments are paragraphs (blank-line separated), or lines when the file has
no blank lines (one sentence or caption per line). ``start``/``end`` stay ``None``: Atlas never invents times.
"""

from __future__ import annotations

from atlas.errors import SourceError
from atlas.models import Segment
from atlas.sources.formats._common import normalise_space, strip_bom

_TEXT_SUFFIXES = frozenset({".txt", ".text"})


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs when a blank line separates any, otherwise lines; whitespace inside each tidied."""
    lines = strip_bom(text).splitlines()
    if not any(not line.strip() for line in _trimmed(lines)):
        return [normalise_space(line) for line in lines if line.strip()]
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(normalise_space(" ".join(current)))
            current = []
    return paragraphs


def _trimmed(lines: list[str]) -> list[str]:
    """Lines without leading/trailing blank ones, which separate nothing."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


class PlainTextFormat:
    name: str = "plain"

    def sniff(self, path_suffix: str, head: str) -> bool:
        return path_suffix in _TEXT_SUFFIXES

    def parse(self, text: str, source: str) -> list[Segment]:
        segments = [Segment(paragraph) for paragraph in split_paragraphs(text)]
        if not segments:
            raise SourceError(source, "no text found", hint="the file holds only whitespace")
        return segments
