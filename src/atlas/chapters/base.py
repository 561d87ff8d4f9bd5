"""The chapters contract: a talk's stored sentence vectors in, topic segments out.

    sentences + stored vectors ─► Segmenter.segment (where the topic turns) ─► spans ─► Titler ─► Chapter

A segmenter sees only vectors and where each sentence sits on the talk's axis: seconds when the transcript is
timed; for an untimed one, word offsets read as seconds at a usual speaking rate (``WORDS_PER_SECOND``), so
one implementation and one set of limits serve both. It returns the index of each chapter's first sentence.
A titler names each span. Both are small Protocols with one module per implementation (``texttiling``,
``optimal``; ``keyphrase``, ``llm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from atlas.models import Sentence

Vectors = npt.NDArray[np.float32]
Axis = npt.NDArray[np.float64]
TitleMethod = Literal["keyphrase", "llm"]

# An untimed transcript has word offsets, not seconds: its axis is words / 2.5 (150 words per minute), so
# "at least a minute" means "at least ~150 words" there. Those pseudo-seconds are never shown as times.
WORDS_PER_SECOND = 2.5


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a chapter may be, in seconds of the talk's axis."""

    min_length: float
    max_length: float
    min_sentences: int = 3


class Segmenter(Protocol):
    """Cuts a talk where its topic turns."""

    name: str

    def segment(self, vectors: Vectors, axis: Axis, limits: Limits) -> list[int]:
        """The first sentence of every chapter, ascending, starting with 0. ``vectors`` are the stored,
        normalised sentence embeddings (n, dim); ``axis`` has n + 1 entries, non-decreasing: where each
        sentence starts, then where the talk ends."""
        ...


class Titler(Protocol):
    """Gives each span of sentences a short title."""

    name: str

    def titles(self, spans: Sequence[Sequence[Sentence]]) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Chapter:
    """One topic segment of a video. ``start``/``end`` are seconds (``None`` when the transcript is untimed:
    no time is invented); ``position`` is the word offset of its first sentence, which locates it either
    way."""

    index: int
    title: str
    start: float | None
    end: float | None
    position: int
    first_sentence: int
    last_sentence: int  # inclusive
    preview: str  # the chapter's opening sentence(s), grown to a readable length
    url: str  # deep link that opens the chapter (no time fragment when untimed)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "position": self.position,
            "first_sentence": self.first_sentence,
            "last_sentence": self.last_sentence,
            "preview": self.preview,
            "url": self.url,
        }


def normalise(vectors: Vectors) -> Vectors:
    """Unit rows (stored vectors are normalised already, but float16 storage leaves them a hair off)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: Vectors = matrix / np.maximum(norms, 1e-12)
    return unit


def too_short(begin: int, stop: int, axis: Axis, limits: Limits) -> bool:
    """Whether sentences ``begin..stop-1`` are too few or too short to make a chapter."""
    return stop - begin < limits.min_sentences or float(axis[stop] - axis[begin]) < limits.min_length


def enforce_min(starts: Sequence[int], axis: Axis, limits: Limits, strength: Sequence[float]) -> list[int]:
    """Drop the weakest boundaries until every chapter is at least ``min_length`` long and holds
    ``min_sentences``. ``strength[i]`` ranks the boundary before sentence ``i`` (the strongest are kept)."""
    n = len(axis) - 1
    kept = sorted(set(starts) | {0})
    while len(kept) > 1:
        bounds = [*kept, n]
        touching: set[int] = set()  # boundaries of a too-short chapter (never 0, the talk's start)
        for k in range(len(kept)):
            if too_short(bounds[k], bounds[k + 1], axis, limits):
                touching.update(b for b in (bounds[k], bounds[k + 1]) if 0 < b < n)
        if not touching:
            break
        kept.remove(min(touching, key=lambda i: strength[i]))
    return kept


def enforce_max(starts: Sequence[int], axis: Axis, limits: Limits, strength: Sequence[float]) -> list[int]:
    """Split every chapter longer than ``max_length`` at its strongest boundary that leaves both sides long
    enough, until none is too long (or no such boundary is left)."""
    n = len(axis) - 1
    kept = sorted(set(starts) | {0})
    pending = list(kept)
    while pending:
        begin = pending.pop()
        k = kept.index(begin)
        stop = kept[k + 1] if k + 1 < len(kept) else n
        if float(axis[stop] - axis[begin]) <= limits.max_length:
            continue
        inside = [
            i
            for i in range(begin + 1, stop)
            if not too_short(begin, i, axis, limits) and not too_short(i, stop, axis, limits)
        ]
        if not inside:
            continue
        cut = max(inside, key=lambda i: strength[i])
        kept.insert(k + 1, cut)
        pending.extend((begin, cut))
    return kept
