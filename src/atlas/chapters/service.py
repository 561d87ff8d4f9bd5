"""Chapters of one stored video: read its sentences and vectors, cut where the topic turns, title the parts.

Nothing is embedded again: the sentence vectors stored at ingest are all a segmenter reads, so chapters of
an hour-long talk take a fraction of a second (``--titles llm`` adds the local model's time per chapter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from atlas.chapters.base import (
    WORDS_PER_SECOND,
    Axis,
    Chapter,
    Limits,
    Segmenter,
    TitleMethod,
)
from atlas.chapters.keyphrase import KeyphraseTitler
from atlas.errors import UserInputError
from atlas.index.base import VideoRecord
from atlas.models import Sentence, Video
from atlas.search.links import deep_link

if TYPE_CHECKING:
    from atlas.answer.registry import GeneratorCache
    from atlas.chapters.llm import LlmTitler
    from atlas.config import AnswerSettings

DEFAULT_MIN_SECONDS = 60.0
DEFAULT_MAX_SECONDS = 900.0
PREVIEW_WORDS = 12  # a preview grows sentence by sentence to at least this many words...
PREVIEW_CHARS = 240  # ...and is cut at this length
SegmenterName = Literal["texttiling", "optimal"]
SEGMENTERS: tuple[SegmenterName, ...] = ("texttiling", "optimal")
DEFAULT_SEGMENTER: SegmenterName = "optimal"  # by measurement: benchmarks/README.md, "Chapters"
TITLE_METHODS: tuple[TitleMethod, ...] = ("keyphrase", "llm")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChapterOptions:
    """How a video is cut into chapters; None takes the default."""

    titles: TitleMethod = "keyphrase"  # "llm": the local model (bundled Qwen through llama.cpp) names them
    model: str | None = None  # a .gguf file for --titles llm (default: the bundled model)
    segmenter: str = DEFAULT_SEGMENTER  # "optimal" or "texttiling"
    min_seconds: float | None = None  # shortest chapter (default 60 s; ~150 words when untimed)
    max_seconds: float | None = None  # longest chapter (default 15 min)

    def limits(self) -> Limits:
        # A default gives way to the bound that was given (max=30 alone means 0..30 s, not "60..30 makes no
        # sense"): only two given bounds that contradict each other are an error.
        high = DEFAULT_MAX_SECONDS if self.max_seconds is None else self.max_seconds
        low = min(DEFAULT_MIN_SECONDS, high) if self.min_seconds is None else self.min_seconds
        if self.max_seconds is None:
            high = max(high, low)
        if low < 0 or high <= 0 or high < low:
            raise UserInputError(
                f"chapter lengths {low:g}..{high:g} s make no sense",
                hint="give a minimum of 0 or more and a maximum above it, in seconds",
            )
        return Limits(min_length=low, max_length=high)


@dataclass(frozen=True, slots=True)
class Chapters:
    """A video's chapters and how they were made."""

    video: Video
    chapters: tuple[Chapter, ...]
    segmenter: str
    titles: str  # "keyphrase", or "llm/<model>"

    def to_json(self) -> dict[str, Any]:
        return {
            "video_id": self.video.video_id,
            "title": self.video.title,
            "timed": self.video.timed,
            "duration": self.video.duration,
            "segmenter": self.segmenter,
            "titles": self.titles,
            "chapters": [c.to_json() for c in self.chapters],
        }


def create_segmenter(name: str) -> Segmenter:
    if name == "texttiling":
        from atlas.chapters.texttiling import TextTiling

        return TextTiling()
    if name == "optimal":
        from atlas.chapters.optimal import Optimal

        return Optimal()
    raise UserInputError(f"unknown segmenter {name!r}", hint=f"use one of: {', '.join(SEGMENTERS)}")


def axis_of(sentences: Sequence[Sentence], video: Video, timed: bool) -> Axis:
    """Where each sentence starts, then where the talk ends: seconds when timed (a sentence without a time
    takes the last known one), else word offsets read at ``WORDS_PER_SECOND``."""
    if not sentences:
        return np.zeros(1, dtype=np.float64)
    if not timed:
        last = sentences[-1]
        ends = [s.position for s in sentences] + [last.position + len(last.text.split())]
        return np.asarray(ends, dtype=np.float64) / WORDS_PER_SECOND
    starts: list[float] = []
    known = 0.0
    for sentence in sentences:
        if sentence.start is not None:
            known = max(known, sentence.start)
        starts.append(known)
    ends_known = [s.end for s in sentences if s.end is not None]
    end = max([known, *ends_known, *([video.duration] if video.duration is not None else [])])
    return np.asarray([*starts, end], dtype=np.float64)


def chapters_of(
    record: VideoRecord,
    options: ChapterOptions | None = None,
    *,
    answer_settings: AnswerSettings | None = None,
    segmenter: Segmenter | None = None,
    loaded: GeneratorCache | None = None,
) -> Chapters:
    """The chapters of one stored video. ``answer_settings`` (threads, model cache) and ``loaded`` (the
    Library's loaded generators, reused) are used only by ``titles="llm"``; ``segmenter`` replaces the one
    ``options`` names (benchmarks, plugins)."""
    options = options or ChapterOptions()
    if options.titles not in TITLE_METHODS:
        raise UserInputError(
            f"unknown title method {options.titles!r}", hint=f"use one of: {', '.join(TITLE_METHODS)}"
        )
    segmenter = segmenter or create_segmenter(options.segmenter)
    limits = options.limits()
    video, sentences = record.video, record.sentences
    timed = video.timed and any(s.start is not None for s in sentences)
    axis = axis_of(sentences, video, timed)
    starts = segmenter.segment(record.sentence_vectors, axis, limits) if sentences else []
    bounds = [*starts, len(sentences)]
    spans = [sentences[bounds[k] : bounds[k + 1]] for k in range(len(starts))]
    keyphrase = KeyphraseTitler()
    titles = keyphrase.titles(spans)
    label = keyphrase.name
    if options.titles == "llm" and spans:
        titler = _llm_titler(titles, options, answer_settings, loaded)
        titles = titler.titles(spans)
        label = f"llm/{titler.model}"
    chapters = tuple(
        _chapter(k, span, bounds[k], titles[k], video, timed, axis, bounds[k + 1])
        for k, span in enumerate(spans)
    )
    return Chapters(video, chapters, segmenter.name, label)


def _llm_titler(
    fallback: list[str],
    options: ChapterOptions,
    answer_settings: AnswerSettings | None,
    loaded: GeneratorCache | None,
) -> LlmTitler:
    from atlas.answer.registry import LLAMA_CPP, generator_for
    from atlas.chapters.llm import LlmTitler
    from atlas.config import AnswerSettings

    base = answer_settings or AnswerSettings()
    model = options.model or (base.model if base.generator == LLAMA_CPP else None)
    generator = generator_for(base.with_(generator=LLAMA_CPP, model=model, base_url=None), loaded)
    return LlmTitler(generator, fallback)


def _chapter(
    index: int,
    span: Sequence[Sentence],
    first: int,
    title: str,
    video: Video,
    timed: bool,
    axis: Axis,
    stop: int,
) -> Chapter:
    # The first chapter opens the video at 0:00 (as players expect of chapters), not at its first word.
    start = (0.0 if index == 0 else float(axis[first])) if timed else None
    end = float(axis[stop]) if timed else None
    return Chapter(
        index=index,
        title=title,
        start=start,
        end=end,
        position=span[0].position,
        first_sentence=span[0].index,
        last_sentence=span[-1].index,
        preview=_preview(span),
        url=deep_link(video, start),
    )


def _preview(span: Sequence[Sentence]) -> str:
    words: list[str] = []
    for sentence in span:
        words.extend(sentence.text.split())
        if len(words) >= PREVIEW_WORDS:
            break
    text = " ".join(words)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1].rstrip() + "…"
