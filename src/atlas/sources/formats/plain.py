"""Plain text with no times at all: segments are paragraphs (blank-line separated), or lines when the file has
no blank lines (one sentence or caption per line). ``start``/``end`` stay ``None``: Atlas never invents times.

In a file whose lines start with speaker labels ("Dan: ..."; see ``speakers``), a labelled line also starts a
new segment, so two speakers in one paragraph stay apart, and the label is the segment's ``speaker``.
"""

from __future__ import annotations

from atlas.errors import SourceError
from atlas.models import Segment
from atlas.sources.formats._common import normalise_space, strip_bom
from atlas.sources.formats.speakers import Line, split_label, uses_labels, with_speakers

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
        lines = [line.strip() for line in strip_bom(text).splitlines()]
        if uses_labels([line for line in lines if line]):
            segments = _labelled_segments(lines)
        else:
            segments = [Segment(paragraph) for paragraph in split_paragraphs(text)]
        if not segments:
            raise SourceError(source, "no text found", hint="the file holds only whitespace")
        return segments


def _labelled_segments(lines: list[str]) -> list[Segment]:
    """Segments cut at blank lines and at labelled lines, each with its speaker."""
    groups: list[list[Line]] = [[]]
    for line in lines:
        if not line or (split_label(line)[0] is not None and groups[-1]):
            groups.append([])
        if line:
            groups[-1].append(Line(line))
    segments: list[Segment] = []
    for group in with_speakers([g for g in groups if g]):
        text = normalise_space(" ".join(line.text for line in group))
        if text:
            segments.append(Segment(text, speaker=group[0].speaker))
    return segments
