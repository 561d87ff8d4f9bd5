"""The generator contract: what a model that writes answers receives, and the one method it implements.

    question ─► search ─► Passage [1]..[n] ─► AnswerRequest (passages + chat messages) ─► Generator.stream
                                                                                          ─► text with [n]

A generator only writes text. Everything around it (retrieval, packing, citation parsing, support checking)
is shared, so a new backend is one small module: a ``name``, a context budget, a token counter and
``stream``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from atlas.models import Hit, Sentence

Vector = npt.NDArray[np.float32]
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True, eq=False)
class Passage:
    """A moment as the generator reads it: numbered like its citation, with the stored sentence vectors that
    the support checker and the extractive generator compare against."""

    number: int
    hit: Hit  # what ``[number]`` resolves to; its window spans exactly ``sentences``
    sentences: tuple[Sentence, ...]
    vectors: Vector  # one stored, normalised embedding per sentence
    relevance: float  # cosine of the passage's best-matching span (packing.spans) to the question

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


@dataclass(frozen=True, slots=True, eq=False)
class Query:
    """A part of a question that asks several things (parts.py), with its vector."""

    text: str
    vector: Vector


@dataclass(frozen=True, slots=True, eq=False)
class AnswerRequest:
    question: str
    question_vector: Vector
    passages: tuple[Passage, ...]
    messages: tuple[Message, ...]  # the chat prompt built from the passages (prompt.py)
    max_tokens: int  # the most tokens the answer may take
    parts: tuple[Query, ...] = ()  # the question's parts when it asks several things, else empty


class Generator(Protocol):
    """Writes an answer that cites passages as ``[n]``. Raises ``GeneratorError`` when its model or endpoint
    fails, so ``--fallback`` can answer extractively instead."""

    #: Shown with every answer, e.g. ``llama.cpp/qwen2.5-coder-0.5b-instruct-q4_k_m``.
    name: str
    #: Prompt plus answer must fit in this many tokens; packing fills passages up to it.
    context_tokens: int

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this generator's prompt (an upper estimate without a tokenizer)."""
        ...

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """The answer's text, piece by piece as it is generated."""
        ...
