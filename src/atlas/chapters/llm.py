"""Chapter titles written by a local model (``--titles llm``): the bundled Qwen through llama.cpp, loaded by
the answer generator's own code (``atlas.answer.registry``, which keeps the loaded model for the next call).

Each chapter's text (its opening, cut to ``max_words``) goes in with a request for a short title; the reply's
first line, stripped of quotes and labels, is the title. A reply that is empty or too long to be a title
keeps the extractive title instead, so every chapter has one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from atlas.answer.base import AnswerRequest, Message
from atlas.models import Sentence

SYSTEM = (
    "You name the chapters of a talk. Given the transcript of one chapter, reply with a title of 2 to 6 "
    "words that says what the chapter is about. Reply with the title only: no quotes, no explanation."
)
MAX_TITLE_WORDS = 10
_LABEL = re.compile(r"^(chapter\s*\d*|title)\s*[:\-–]\s*", re.IGNORECASE)


class TextGenerator(Protocol):
    """What the titler needs of a generator (``atlas.answer.base.Generator`` is one)."""

    name: str

    def stream(self, request: AnswerRequest) -> Iterator[str]: ...


class LlmTitler:
    name = "llm"

    def __init__(self, generator: TextGenerator, fallback: Sequence[str], max_words: int = 250) -> None:
        self.generator = generator
        self.model = generator.name.removeprefix("llama.cpp/")
        self.fallback = list(fallback)
        self.max_words = max_words

    def titles(self, spans: Sequence[Sequence[Sentence]]) -> list[str]:
        return [self._title(span, i) for i, span in enumerate(spans)]

    def _title(self, span: Sequence[Sentence], index: int) -> str:
        words = " ".join(s.text for s in span).split()
        excerpt = " ".join(words[: self.max_words]) + (" …" if len(words) > self.max_words else "")
        request = AnswerRequest(
            question="title",
            question_vector=np.zeros(0, dtype=np.float32),
            passages=(),
            messages=(
                Message("system", SYSTEM),
                Message("user", f"Chapter transcript:\n{excerpt}\n\nTitle:"),
            ),
            max_tokens=24,
        )
        reply = "".join(self.generator.stream(request))
        return clean_title(reply) or (self.fallback[index] if index < len(self.fallback) else "")


def clean_title(reply: str) -> str:
    """The title inside a model's reply, or "" when the reply is no title."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    title = _LABEL.sub("", lines[0].strip("*#` ")).strip("\"'“”‘’*#`. ")
    if not title or len(title.split()) > MAX_TITLE_WORDS:
        return ""
    return title
