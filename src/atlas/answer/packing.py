"""Search hits -> passages a generator reads: merged, de-duplicated, trimmed and packed into its context.

Hits of one video that touch or overlap become one passage (the model reads one stretch of talk once, and
the citation spans exactly what it read); the same text ingested twice (a re-upload, a copy) is read once.
Passages keep the search ranking, so the best evidence comes first and survives when the budget runs out.

With question-shaped retrieval (``AnswerSettings.question_parts``) each passage of a question that asks
several things is first cut to its evidence (``evidence``): the span of sentences that answers the question
or one of its parts best, a second such span when it nearly ties, and one neighbouring sentence on each side
for context. A small model then reads the lines that answer each part instead of two windows of talk around
them, and the same context budget holds more moments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from atlas.answer.base import Passage, Query, Vector
from atlas.answer.prompt import TEMPLATE_TOKENS_PER_MESSAGE, build_messages, render_passage
from atlas.answer.retriever import SentenceStore
from atlas.answer.support import MIN_QUESTION_COSINE
from atlas.chunking.pieces import continues, rejoin_pieces
from atlas.chunking.sentences import time_bounds
from atlas.errors import NotFoundError, UserInputError
from atlas.models import Hit, Sentence, Window
from atlas.search.links import deep_link
from atlas.search.pinning import KEYWORD_WEIGHT
from atlas.search.text import keyword_terms, matched_terms, tokenize

MAX_PASSAGE_TOKENS = 360  # about two windows: a merged stretch longer than that is trimmed around its moment
MIN_PASSAGE_TOKENS = 48  # a passage cut shorter than this is too little context to be worth its slot
DUPLICATE_JACCARD = 0.8  # word-set overlap above which two passages are the same text
# Short spoken sentences ("How do they work?") match a question's form rather than its content; relevance is
# measured on spans of at least this many words.
MIN_SPAN_WORDS = 8
# Evidence: a span at least this many words long is scored (shorter sentences are read with the next), one
# sentence each side is kept for context, a second span is kept when it scores this share of the best one,
# and a cut longer than this many sentences keeps the best span alone.
EVIDENCE_SPAN_WORDS = 10
EVIDENCE_NEIGHBOURS = 1
EVIDENCE_SECOND = 0.9
MAX_EVIDENCE_SENTENCES = 8

# A window can open inside a sentence: a long one is stored in slices of at most ``max_sentence_words``, and a
# window starts at a slice. A passage that opens mid-sentence ("that the 2080 TI gives you.") reads to a small
# model as a claim of its own, which it copies; so a passage starts where its first sentence does, when that
# is at most this many words earlier (an unpunctuated caption stream has no sentence start to go back to).
MAX_LEAD_IN_WORDS = 60
LEAD_IN_READ = 12  # stored pieces read back at most, to find that start

TokenCounter = Callable[[str], int]


@dataclass(slots=True)
class _Group:
    lead: Hit  # the best-ranked hit of the stretch: its moment and link stay the citation's
    first: int
    last: int

    def touches(self, hit: Hit) -> bool:
        return (
            hit.video.video_id == self.lead.video.video_id
            and hit.window.first_sentence <= self.last + 1
            and self.first <= hit.window.last_sentence + 1
        )


def gather_passages(hits: Sequence[Hit], index: SentenceStore, question_vector: Vector) -> list[Passage]:
    """One passage per stretch of talk, in ranking order, numbered 1..n (packing renumbers)."""
    groups: list[_Group] = []
    for hit in hits:
        group = next((g for g in groups if g.touches(hit)), None)
        if group is None:
            groups.append(_Group(hit, hit.window.first_sentence, hit.window.last_sentence))
        else:
            group.first = min(group.first, hit.window.first_sentence)
            group.last = max(group.last, hit.window.last_sentence)
    passages: list[Passage] = []
    seen: list[frozenset[str]] = []
    for group in groups:
        try:
            pieces, piece_vectors = index.sentences(group.lead.video.video_id, group.first, group.last)
        except NotFoundError:
            continue  # the video was removed by a concurrent writer since the search
        if not pieces:
            continue  # removed by a concurrent writer since the search
        lead_in, lead_vectors = _lead_in(index, group.lead.video.video_id, group.first, pieces[0])
        if lead_in:
            pieces = lead_in + pieces
            piece_vectors = np.vstack([lead_vectors, piece_vectors])
        # The store holds timed pieces of sentences (for pinning); a generator reads and quotes sentences.
        sentences, vectors = rejoin_pieces(pieces, piece_vectors)
        words = frozenset(tokenize(" ".join(s.text for s in sentences)))
        if any(_jaccard(words, other) >= DUPLICATE_JACCARD for other in seen):
            continue
        seen.append(words)
        relevance = max(float(vector @ question_vector) for _, _, vector in spans(sentences, vectors))
        passage = _passage(len(passages) + 1, group.lead, tuple(sentences), vectors, relevance)
        passages.append(passage)
    return passages


def _lead_in(
    index: SentenceStore, video_id: str, first: int, opening: Sentence
) -> tuple[list[Sentence], Vector]:
    """The stored pieces before piece ``first`` back to the start of the sentence ``opening`` continues (after
    the last piece that ends a sentence, or another speaker's), or none: ``opening`` starts a sentence (its
    first letter is a capital), that start is too far back, or the talk has no punctuation to find it by."""
    letter = next((ch for ch in opening.text if ch.isalpha()), "")
    if first == 0 or not letter.islower():
        return [], np.zeros((0, 0), dtype=np.float32)
    try:
        earlier, vectors = index.sentences(video_id, max(0, first - LEAD_IN_READ), first - 1)
    except NotFoundError:
        return [], np.zeros((0, 0), dtype=np.float32)
    words = 0
    for k in range(len(earlier) - 1, -1, -1):
        if not continues(earlier[k], earlier[k + 1] if k + 1 < len(earlier) else opening):
            return earlier[k + 1 :], vectors[k + 1 :]
        words += len(earlier[k].text.split())
        if words > MAX_LEAD_IN_WORDS:
            break
    else:
        if earlier and earlier[0].index == 0:  # the sentence opens the talk
            return earlier, vectors
    return [], np.zeros((0, 0), dtype=np.float32)


def spans(
    sentences: Sequence[Sentence], vectors: Vector, min_words: int = MIN_SPAN_WORDS
) -> Iterator[tuple[int, int, Vector]]:
    """For each sentence, the span that starts there and grows until it has ``min_words`` words: its first
    and last index and its vector (the normalised sum of its sentences' vectors)."""
    for first in range(len(sentences)):
        last, words = first, len(sentences[first].text.split())
        while words < min_words and last + 1 < len(sentences):
            last += 1
            words += len(sentences[last].text.split())
        summed = np.sum(vectors[first : last + 1], axis=0)
        yield first, last, (summed / max(float(np.linalg.norm(summed)), 1e-6)).astype(np.float32)


def relevance(passage: Passage, vector: Vector) -> float:
    """The cosine of the passage's best-matching span to ``vector`` (what ``Passage.relevance`` holds for the
    question's vector)."""
    return max(float(span @ vector) for _, _, span in spans(passage.sentences, passage.vectors))


def evidence(passage: Passage, queries: Sequence[Query]) -> Passage:
    """The passage cut to the sentences that answer: the span that scores best against any of ``queries``
    (cosine plus the share of that query's keywords it holds, as pinning scores), a second non-overlapping
    span when it scores nearly as well, and ``EVIDENCE_NEIGHBOURS`` sentences either side. The citation
    follows the cut: its window spans the kept sentences, pinned to the best span when the search's pinned
    sentence was cut away."""
    sentences = passage.sentences
    if len(sentences) <= 1 + 2 * EVIDENCE_NEIGHBOURS or not queries:
        return passage
    terms = [keyword_terms(q.text) for q in queries]
    scored: list[tuple[float, int, int]] = []
    for first, last, vector in spans(sentences, passage.vectors, EVIDENCE_SPAN_WORDS):
        text = " ".join(s.text for s in sentences[first : last + 1])
        score = max(
            float(vector @ q.vector) + (KEYWORD_WEIGHT * len(matched_terms(t, text)) / len(t) if t else 0.0)
            for q, t in zip(queries, terms, strict=True)
        )
        scored.append((score, first, last))
    scored.sort(key=lambda item: item[0], reverse=True)
    best_score, lo, hi = scored[0]
    chosen = [(lo, hi)]
    for score, first, last in scored[1:]:
        if score < EVIDENCE_SECOND * best_score:
            break
        if all(last < a or first > b for a, b in chosen):
            chosen.append((first, last))
            break
    lo = max(0, min(a for a, _ in chosen) - EVIDENCE_NEIGHBOURS)
    hi = min(len(sentences) - 1, max(b for _, b in chosen) + EVIDENCE_NEIGHBOURS)
    if hi - lo + 1 > MAX_EVIDENCE_SENTENCES:
        first, last = chosen[0]
        lo = max(0, first - EVIDENCE_NEIGHBOURS)
        hi = min(len(sentences) - 1, last + EVIDENCE_NEIGHBOURS)
    cut = _span(passage, list(sentences[lo : hi + 1]), passage.vectors[lo : hi + 1])
    if any(s.position == passage.hit.position for s in cut.sentences):
        return cut
    pinned = sentences[chosen[0][0]]
    hit = replace(
        cut.hit,
        moment=pinned.start,
        snippet=pinned.text,
        url=deep_link(cut.hit.video, pinned.start),
        position=pinned.position,
        speaker=pinned.speaker,
        matched_terms=(),
    )
    return replace(cut, hit=hit)


def on_question(passage: Passage, vectors: Sequence[Vector]) -> Passage:
    """The passage without its lines that touch neither the question nor any of its parts (``vectors``):
    a line whose cosine to each is under the support check's floor (``MIN_QUESTION_COSINE``), for a model to
    read. A small model copies lines from what it reads, and a copied line that misses the question ("So good
    PR.", "Dang it.") is then dropped by the check as off the question: shown such lines, the bundled 0.5B
    wrote them in place of an answer. The search's pinned line stays whatever it scores, so the citation's
    moment is still read; the extract and the fallback's quotes still read the whole passage."""
    lines = np.asarray(passage.vectors, dtype=np.float32)
    scores = np.max(lines @ np.asarray(vectors, dtype=np.float32).T, axis=1)
    pinned = _pinned_index(passage)
    keep = [i for i, score in enumerate(scores) if score >= MIN_QUESTION_COSINE or i == pinned]
    if len(keep) == len(passage.sentences):
        return passage
    sentences = tuple(passage.sentences[i] for i in keep)
    return _passage(passage.number, passage.hit, sentences, lines[keep], passage.relevance)


def pack(
    candidates: Sequence[Passage],
    *,
    question: str,
    count_tokens: TokenCounter,
    context_tokens: int,
    answer_tokens: int,
) -> tuple[Passage, ...]:
    """As many passages as fit the generator's context next to the question and the answer, numbered 1..n.

    Raises UserInputError when the question itself leaves no room for even one short passage.
    """
    overhead = sum(
        count_tokens(m.content) + TEMPLATE_TOKENS_PER_MESSAGE for m in build_messages(question, ())
    )
    room = context_tokens - answer_tokens - overhead
    if room < MIN_PASSAGE_TOKENS:
        raise UserInputError(
            f"the question takes {overhead} tokens of the generator's {context_tokens}-token context, which "
            f"leaves no room for the moments and a {answer_tokens}-token answer",
            hint="ask a shorter question, or use a generator with a larger context",
        )
    packed: list[Passage] = []
    for candidate in candidates:
        cap = min(MAX_PASSAGE_TOKENS, room)
        if cap < MIN_PASSAGE_TOKENS:
            break
        passage = _trim(replace(candidate, number=len(packed) + 1), count_tokens, cap)
        if passage is None:
            continue
        room -= count_tokens(render_passage(passage)) + 2  # the blank line between excerpts
        packed.append(passage)
    if candidates and not packed:
        raise UserInputError(
            f"the generator's {context_tokens}-token context cannot hold one moment next to the question",
            hint="use a generator with a larger context, or --generator extractive",
        )
    return tuple(packed)


def _trim(passage: Passage, count_tokens: TokenCounter, cap: int) -> Passage | None:
    """Drop sentences farthest from the passage's moment until it fits ``cap`` tokens (None if even the
    moment's own sentence does not)."""
    sentences, vectors = list(passage.sentences), passage.vectors
    pinned = _pinned_index(passage)
    lo, hi = 0, len(sentences)
    while count_tokens(render_passage(_span(passage, sentences[lo:hi], vectors[lo:hi]))) > cap:
        if hi - lo == 1:
            return None
        # Cut from the end that lies farther from the moment, so the moment stays near the middle.
        if hi - 1 - pinned >= pinned - lo:
            hi -= 1
        else:
            lo += 1
    return _span(passage, sentences[lo:hi], vectors[lo:hi])


def _pinned_index(passage: Passage) -> int:
    for i, sentence in enumerate(passage.sentences):
        if sentence.position == passage.hit.position:
            return i
    return 0


def _span(passage: Passage, sentences: list[Sentence], vectors: Vector) -> Passage:
    if len(sentences) == len(passage.sentences):
        return passage
    return _passage(passage.number, passage.hit, tuple(sentences), vectors, passage.relevance)


def _passage(
    number: int, lead: Hit, sentences: tuple[Sentence, ...], vectors: Vector, relevance: float
) -> Passage:
    """A passage whose hit's window spans exactly its sentences, so a citation resolves to what was read."""
    start, end = time_bounds(sentences)
    window = Window(
        index=lead.window.index,
        text=" ".join(s.text for s in sentences),
        start=start,
        end=end,
        first_sentence=sentences[0].index,
        last_sentence=sentences[-1].index,
    )
    vectors = np.asarray(vectors, dtype=np.float32)
    return Passage(number, replace(lead, window=window), sentences, vectors, relevance)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0
