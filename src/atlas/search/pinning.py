"""Pin a window hit to the sentence that best answers the query: a window finds the topic, the user wants the
second. Sentence vectors are stored at ingest, so pinning costs a few dot products, not a model call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from atlas.chunking.pieces import continues
from atlas.models import Sentence
from atlas.search.text import matched_terms

# How much a sentence's share of the query's keywords adds to its cosine similarity. Cosines of related
# MiniLM sentences sit around 0.3-0.6, so full keyword coverage is worth about one "clearly related" step.
KEYWORD_WEIGHT = 0.3
# An answer often runs over several sentences and its best-matching one is not the first: the pin moves back
# over preceding sentences that score within this margin of the best, so the link opens where the answer
# starts. Fitted on the dev half of benchmarks/queries.jsonl (timed talks): 0.1 cut pins more than 1 s late
# from 25 % to 17 % at the same share within 3 s.
BACK_MARGIN = 0.1
# Stored pieces cut long sentences at spoken pauses (and caption streams at pauses and length caps), so the
# best piece may continue a sentence begun a moment earlier ("... one of which," / "for example, might be
# carbon fiber."): the pin moves back to that sentence's first piece when it starts at most this much
# earlier, so the link does not open mid-sentence. Further back it would open on other lines (8 s: within 3 s
# 0.73 -> 0.48 on the dev half of benchmarks/queries.jsonl); see benchmarks/README.md for the measure.
SENTENCE_LEAD_S = 3.0
SNIPPET_MIN_WORDS = 14


@dataclass(frozen=True, slots=True)
class Pin:
    sentence: Sentence
    score: float
    snippet: str
    matched: tuple[str, ...]


def pin_sentence(
    sentences: Sequence[Sentence],
    vectors: npt.NDArray[np.float32] | None,
    query_vector: npt.NDArray[np.float32] | None,
    terms: list[str],
) -> Pin:
    """Best sentence by cosine + keyword coverage; without a query vector (keyword mode) by coverage alone."""
    if not sentences:
        raise ValueError("a window always holds at least one sentence")
    semantic = False
    cosines = np.zeros(len(sentences), dtype=np.float32)
    if query_vector is not None and vectors is not None and len(vectors) == len(sentences):
        semantic = True
        cosines = vectors.astype(np.float32) @ query_vector
    matched = [tuple(matched_terms(terms, s.text)) if terms else () for s in sentences]
    scores = [
        float(cosines[i]) + KEYWORD_WEIGHT * (len(matched[i]) / len(terms) if terms else 0.0)
        for i in range(len(sentences))
    ]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    start = best
    # Only meaning spreads over sentences: on keywords alone (keyword mode) every sentence without a query
    # word would sit within the margin of a low-coverage best and drag the pin to the window's start.
    while semantic and start > 0 and scores[start - 1] >= scores[best] - BACK_MARGIN:
        start -= 1
    start = _sentence_start(sentences, start)
    found = {term for i in range(start, best + 1) for term in matched[i]}
    return Pin(
        sentences[start], scores[best], _snippet(sentences, start), tuple(t for t in terms if t in found)
    )


def _sentence_start(sentences: Sequence[Sentence], i: int) -> int:
    """The first piece of the sentence piece ``i`` continues, when it starts at most SENTENCE_LEAD_S earlier
    and the same speaker says it; else ``i``."""
    pinned = sentences[i]
    j = i
    # A window filtered to one speaker's lines holds pieces that were not said one after the other: continues
    # checks that too.
    while j > 0 and continues(sentences[j - 1], sentences[j]):
        before = sentences[j - 1]
        if before.start is None or pinned.start is None or pinned.start - before.start > SENTENCE_LEAD_S:
            break
        j -= 1
    return j


def _snippet(sentences: Sequence[Sentence], i: int) -> str:
    """The pinned sentence, grown with its neighbours until it reads as a passage."""
    text = sentences[i].text
    j = i + 1
    while len(text.split()) < SNIPPET_MIN_WORDS and j < len(sentences):
        text = f"{text} {sentences[j].text}"
        j += 1
    return text
