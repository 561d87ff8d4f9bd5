"""Answer without a model: the passages' own sentences that best answer the question, stitched together and
each cited. Instant, offline, and never says anything the videos do not say; it quotes rather than explains.

Sentences are scored like pinning scores them (cosine to the question with the stored sentence vectors, plus
the share of the question's keywords they contain); short spoken fragments ("Right.") are read together with
what follows; near-repeats are skipped; each chosen one is told with the sentence that follows it (a speaker
who answers a question usually restates it first and gives the figure or the name next). The chosen lines are
told best first, so the answer opens with the line that answers most directly: told source by source in the
order spoken instead, the first sentence held one of the question's key facts for 2 of the 18 dev questions
of benchmarks/questions_answer.jsonl, best first for 5 (test: 5 and 8), with the same sentences.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from atlas.answer.base import AnswerRequest, Passage, Vector
from atlas.answer.citations import cite
from atlas.answer.packing import spans
from atlas.models import Sentence
from atlas.search.pinning import KEYWORD_WEIGHT
from atlas.search.text import keyword_terms, matched_terms, tokenize

MAX_UNITS = 5
MAX_WORDS = 170  # about a paragraph: past that, an extract stops reading like an answer
# A unit is told with the sentence that follows it in its passage, unless that one scores under this share of
# the unit (a stray remark). Measured on the dev questions of benchmarks/questions_answer.jsonl: the line that
# matches a question best is often the speaker's restatement of it ("it's a triac instead of a relay
# because...") and the fact comes in the next one (fact recall 0.49 -> 0.59; with 3 units instead of 5 the
# same, at 120 words instead of 177, but the demo's cost question lost its verdict, the 5th unit).
FOLLOWER_SHARE = 0.2
MIN_UNIT_WORDS = 10  # shorter spoken fragments are read together with the sentences that follow
FILLER_WORDS = 3  # a fragment this short that opens a unit ("Right.", "Okay, so.") is not shown
RELATIVE_FLOOR = 0.6  # a unit scoring under this share of the best one has drifted off the question
REDUNDANT_COSINE = 0.9
REDUNDANT_JACCARD = 0.6


@dataclass(frozen=True, slots=True, eq=False)
class _Unit:
    passage: Passage
    first: int  # sentence indexes inside the passage, inclusive
    last: int
    vector: Vector
    words: frozenset[str]
    score: float
    question: bool  # it ends asking something: a speaker's question restates the topic, it does not answer
    told_last: int  # the last sentence told with it: ``last``, or the sentence that follows

    def overlaps(self, other: _Unit) -> bool:
        return self.passage is other.passage and self.first <= other.last and other.first <= self.last


class ExtractiveGenerator:
    name = "extractive"
    context_tokens = 1 << 20  # it reads the passages directly; the number of moments is the only limit

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        for passage, sentence in extract(request):
            yield cite(tidy(sentence.text), (passage.number,)) + " "


def extract(request: AnswerRequest) -> list[tuple[Passage, Sentence]]:
    """The sentences an extractive answer tells, each with the passage it comes from, best first (the
    fallback for unsupported generated sentences chooses among these). A question of several parts has its
    units ranked against the whole question and against each part, and chosen from those rankings in turn,
    and told in the order chosen."""
    queries = [(request.question, request.question_vector), *((q.text, q.vector) for q in request.parts)]
    rankings = []
    for text, vector in queries:
        terms = keyword_terms(text)
        units = [u for p in request.passages for u in _units(p, vector, terms)]
        rankings.append(sorted(units, key=lambda u: u.score, reverse=True))
    told: list[tuple[Passage, Sentence]] = []
    seen: set[tuple[int, int]] = set()  # (passage, sentence): a unit's follower may open the next unit
    for unit in _choose(rankings):
        first, last = unit.first, unit.told_last
        while first < last and len(unit.passage.sentences[first].text.split()) <= FILLER_WORDS:
            first += 1
        for i in range(first, last + 1):
            sentence = unit.passage.sentences[i]
            if (unit.passage.number, i) in seen or sentence.text.rstrip().endswith("?"):
                continue  # told already; or it asks, asserting nothing (see support.py)
            seen.add((unit.passage.number, i))
            told.append((unit.passage, sentence))
    return told


def _units(passage: Passage, question_vector: Vector, terms: list[str]) -> Iterator[_Unit]:
    sentences = passage.sentences
    found = []  # one span per first sentence, so a span's follower is scored at found[last + 1]
    for first, last, vector in spans(sentences, passage.vectors, MIN_UNIT_WORDS):
        text = " ".join(s.text for s in sentences[first : last + 1])
        coverage = len(matched_terms(terms, text)) / len(terms) if terms else 0.0
        found.append((first, last, vector, text, float(vector @ question_vector) + KEYWORD_WEIGHT * coverage))
    for first, last, vector, text, score in found:
        follows = last + 1 < len(found) and found[last + 1][4] >= FOLLOWER_SHARE * score
        asks = text.rstrip().endswith("?")
        told_last = last + 1 if follows else last
        yield _Unit(passage, first, last, vector, frozenset(tokenize(text)), score, asks, told_last)


def _choose(rankings: list[list[_Unit]]) -> list[_Unit]:
    """The best units of each ranking (one per question part, best first), taken in turn: one from each
    ranking per round, until the answer is long enough or every ranking has drifted off its part."""
    chosen: list[_Unit] = []
    told: set[tuple[int, int]] = set()  # (passage, sentence) counted in ``words``
    words = 0
    cursors = [0] * len(rankings)
    open_ = [bool(ranked) for ranked in rankings]
    while any(open_):
        for i, ranked in enumerate(rankings):
            if not open_[i]:
                continue
            if len(chosen) >= MAX_UNITS or words >= MAX_WORDS:
                return chosen
            unit = _next(ranked, cursors, i, chosen)
            if unit is None:
                open_[i] = False
                continue
            chosen.append(unit)
            for index in range(unit.first, unit.told_last + 1):
                if (unit.passage.number, index) not in told:  # a follower may be another unit's own line
                    told.add((unit.passage.number, index))
                    words += len(unit.passage.sentences[index].text.split())
    return chosen


def _next(ranked: list[_Unit], cursors: list[int], i: int, chosen: list[_Unit]) -> _Unit | None:
    """Ranking ``i``'s next unit worth telling, or None once it has drifted off its question (part)."""
    while cursors[i] < len(ranked):
        unit = ranked[cursors[i]]
        cursors[i] += 1
        if chosen and unit.score < RELATIVE_FLOOR * ranked[0].score:
            return None
        if unit.question or any(unit.overlaps(c) or _redundant(unit, c) for c in chosen):
            continue
        return unit
    return None


def _redundant(a: _Unit, b: _Unit) -> bool:
    if float(a.vector @ b.vector) >= REDUNDANT_COSINE:
        return True
    union = a.words | b.words
    return bool(union) and len(a.words & b.words) / len(union) >= REDUNDANT_JACCARD


def tidy(text: str) -> str:
    """A spoken sentence as written prose: capital first letter, closing punctuation."""
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."
