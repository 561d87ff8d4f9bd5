"""Query rewriting for ``--deep`` search: a local LLM says what a speaker would have said.

A paraphrase that shares no word with the transcript ("a step that rebalances the numbers so none dominate")
misses in BM25 and sits far from the passage in MiniLM's space, yet a language model knows the name of the
thing ("normalization"). The rewriter asks the bundled model for two short strings, the technical terms
and one sentence a speaker might say at that moment (a hypothetical transcript line, as in HyDE); the engine
searches with each and fuses the rankings with the original query's.

The output format is fixed (``TERMS:`` and ``SPEECH:`` lines) and parsed strictly: anything else is
ignored, so a rambling model costs recall, never correctness. Decoding is greedy (the same rewrites every
time) and bounded; generation stops as soon as both lines are complete.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from atlas.answer.base import AnswerRequest, Message
from atlas.config import AnswerSettings
from atlas.errors import DependencyMissingError

MAX_REWRITE_TOKENS = 64  # two short lines; a bound, since every generated token costs ~50-100 ms on 2 cores
MAX_REWRITE_CHARS = 240
MAX_TERMS = 6
CONTEXT_TOKENS = 512  # the prompt is ~200 tokens; a small context allocates and clears faster

SYSTEM = (
    "You help search the transcript of a spoken talk. Given a description of a moment, you say which words "
    "the speaker most likely used there."
)
_ASK = (
    "Description: {query}\n\n"
    "Reply with exactly two lines:\n"
    "TERMS: the technical terms or names the speaker would use, comma-separated\n"
    "SPEECH: one sentence the speaker might say at that moment"
)
# Worked examples teach the format and the move from an effect to its name. They are short (prompt tokens
# cost time) and their topics (cooking, boats) are far from any talk, so they cannot leak into a rewrite.
_EXAMPLES = (
    (
        "making the oven hot before the dough goes in",
        "TERMS: preheat, oven temperature\nSPEECH: So first you preheat the oven to two hundred degrees.",
    ),
    (
        "the skipper explains how the boat is kept from drifting off at night",
        "TERMS: anchor, mooring\nSPEECH: At night we drop the anchor so the boat stays put.",
    ),
)
_LINE = re.compile(r"^\s*(TERMS|SPEECH)\s*:\s*(.+?)\s*$", re.IGNORECASE)


class QueryRewriter(Protocol):
    def rewrite(self, query: str) -> list[str]:
        """Other phrasings of ``query`` to search with as well (possibly none); never the query itself."""
        ...


class TextGenerator(Protocol):
    """What the rewriter needs of a model: ``atlas.answer.llama_cpp.LlamaCppGenerator`` fits."""

    def stream(self, request: AnswerRequest) -> Iterator[str]: ...


def build_messages(query: str) -> tuple[Message, ...]:
    messages = [Message("system", SYSTEM)]
    for example, reply in _EXAMPLES:
        messages += [Message("user", _ASK.format(query=example)), Message("assistant", reply)]
    messages.append(Message("user", _ASK.format(query=query)))
    return tuple(messages)


def parse_rewrites(text: str, query: str) -> list[str]:
    """The TERMS line (its terms de-duplicated, at most ``MAX_TERMS``) and the SPEECH line, in that order.
    Lines in any other shape, a repeated label, and a rewrite that only repeats the query are dropped."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        label, value = match.group(1).upper(), match.group(2)
        if label in found:
            continue
        if label == "TERMS":
            value = ", ".join(_unique(t.strip(" .;\"'") for t in value.split(","))[:MAX_TERMS])
        value = value.strip(" \"'")[:MAX_REWRITE_CHARS]
        if value:
            found[label] = value
    original = _words(query)
    return [v for label in ("TERMS", "SPEECH") if (v := found.get(label)) and _words(v) != original]


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for item in items:
        if item and item.lower() not in seen:
            seen.add(item.lower())
            kept.append(item)
    return kept


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


class LlmQueryRewriter:
    """Rewrites with a local chat model; one query at a time (the model's context is not shared)."""

    def __init__(self, generator: TextGenerator, max_tokens: int = MAX_REWRITE_TOKENS) -> None:
        self._generator = generator
        self._max_tokens = max_tokens

    def rewrite(self, query: str) -> list[str]:
        request = AnswerRequest(
            question=query,
            question_vector=np.zeros(0, dtype=np.float32),
            passages=(),
            messages=build_messages(query),
            max_tokens=self._max_tokens,
        )
        text = ""
        stream = self._generator.stream(request)
        try:
            for piece in stream:
                text += piece
                # Both lines complete: stop instead of letting the model ramble to its token bound.
                if "SPEECH:" in text.upper() and text.rstrip(" ").endswith("\n"):
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # releases the model's lock held inside the generator
        return parse_rewrites(text, query)


class FixedRewriter:
    """Deterministic rewrites from a table (tests, and benchmarks replaying saved rewrites)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def rewrite(self, query: str) -> list[str]:
        self.calls.append(query)
        return list(self.table.get(query, []))


_loaded: dict[tuple[Path | None, int | None], LlmQueryRewriter] = {}
_load_lock = threading.Lock()


def bundled_rewriter(settings: AnswerSettings | None = None) -> LlmQueryRewriter:
    """The rewriter over the bundled Qwen2.5 0.5B (joined, checked and loaded by ``atlas.answer.llama_cpp``),
    loaded once per process: a search server pays the model load on its first deep query only. A missing
    cyllama or model package raises ``DependencyMissingError`` with the install command."""
    from atlas.answer import llama_cpp

    settings = settings or AnswerSettings()
    key = (settings.model_cache_dir, settings.threads)
    with _load_lock:
        if key not in _loaded:
            # The bundled model whatever ``ask`` is set to use: an answer model may be a remote endpoint's.
            bundled = AnswerSettings(
                threads=settings.threads,
                context_tokens=CONTEXT_TOKENS,
                model_cache_dir=settings.model_cache_dir,
            )
            try:
                generator = llama_cpp.create(bundled)
            except DependencyMissingError as exc:
                raise DependencyMissingError(
                    f"--deep search rewrites the query with the bundled model: {exc.message}",
                    hint="install it with: pip install 'atlas-search[answer]', or search without --deep",
                ) from exc
            _loaded[key] = LlmQueryRewriter(generator)
        return _loaded[key]
