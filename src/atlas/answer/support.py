"""Check every generated sentence against the passages it cites; keep only what they back.

A sentence's support mixes two signals, each in [0, 1]:
  - meaning: the best cosine between the sentence and a cited sentence (or two adjacent ones, since answers
    often fuse two spoken sentences), with the library's own embedder and the passages' stored vectors;
  - words: the share of the sentence's content words (stemmed) that the cited passages contain.
Two vetoes catch what those averages miss, the commonest ways small models go wrong:
  - a number the cited passages never say (``50%``, ``$3``, ``8 GPUs``): an invented figure;
  - a name the cited passages never say: a subject swapped in ("Pedalboard is a neural architecture" citing a
    passage where "it" was a mixture of experts). Names are words written capitalised mid-sentence in the
    question, the passages or the sentence itself (Gradescope, Turnitin, GPT-4, NormConf). A name the passage
    says written apart, as speech recognition writes names ("Audio Boom" for Audioboom), is said.

A sentence citing a number that was never given is dropped. A sentence written without any marker is kept
only if one passage supports it on its own, and then cites that passage; so is a sentence whose citations do
not support it but another passage clearly does (a mis-numbered quote), so every shown sentence carries a
checked citation. A sentence that has nothing to do with the question (a speaker's "thanks for listening"
copied from a passage) is dropped too, however well supported, and so is a question: it asserts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from atlas.answer.base import Passage, Vector
from atlas.answer.citations import DraftSentence, cite
from atlas.embedding.base import Embedder
from atlas.models import AnswerSentence, SentenceOrigin
from atlas.search.text import STOPWORDS, matched_terms, stem, tokenize

SUPPORT_THRESHOLD = 0.5
MEANING_WEIGHT = 0.5
# MiniLM cosines: unrelated sentences sit near 0.1, a faithful paraphrase above 0.7. Map that range onto
# [0, 1] so the two signals weigh alike.
COSINE_FLOOR, COSINE_CEILING = 0.15, 0.8
# Sentences the bundled model copied from passages but that answer nothing ("Which is great.", "Thanks for
# listening.") scored -0.07..0.06 against the question (MiniLM), sentences that answered 0.3 and up.
MIN_QUESTION_COSINE = 0.15
# Re-citing a sentence to a passage it did not name asks for clearer support than keeping a citation does.
REPAIR_MARGIN = 0.1

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80"}
_NUMBER_WORDS |= {"ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000"}
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_EDGE_PUNCTUATION = "\"'“”‘’()[]{}.,;:!?*_"


@dataclass(frozen=True, slots=True)
class SupportReport:
    kept: tuple[AnswerSentence, ...]
    paragraph_starts: frozenset[int]  # indexes into ``kept`` where the generator began a paragraph
    dropped: tuple[str, ...]  # as the generator wrote them, with their markers
    focus: float  # the best cosine of a kept sentence to the question (-1 when none is kept)
    # For the fallback (fallback.py): the kept sentences' vectors, and for each dropped sentence where it
    # stood (the index into ``kept`` it came before) and its vector.
    kept_vectors: tuple[Vector, ...] = ()
    gaps: tuple[tuple[int, Vector], ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class _Evidence:
    """What one passage offers a checker, prepared once per answer."""

    vectors: Vector  # its sentences, then each pair of adjacent sentences (normalised sums)
    stems: frozenset[str]
    names: frozenset[str]  # every word, keyed like names, to test a sentence's names against
    numbers: frozenset[str]
    text: str  # to find a name the transcript writes apart ("Audio Boom" for Audioboom)


class SupportChecker:
    def __init__(
        self,
        embedder: Embedder,
        question: str,
        question_vector: Vector,
        passages: Sequence[Passage],
        threshold: float = SUPPORT_THRESHOLD,
    ) -> None:
        self._embedder = embedder
        self._question_vector = question_vector
        self._threshold = threshold
        self._evidence = {p.number: _evidence(p) for p in passages}
        self._names = names_in([question, *(p.text for p in passages)])

    def check(self, drafts: Sequence[DraftSentence], origin: SentenceOrigin = "generated") -> SupportReport:
        vectors = self._embedder.embed([d.text for d in drafts])
        kept: list[AnswerSentence] = []
        kept_vectors: list[Vector] = []
        starts: set[int] = set()
        dropped: list[str] = []
        gaps: list[tuple[int, Vector]] = []
        focus = -1.0
        for draft, vector in zip(drafts, vectors, strict=True):
            checked = self._check_one(draft, vector)
            if checked is None:
                dropped.append(cite(draft.text, draft.citations))
                gaps.append((len(kept), vector))
                continue
            if draft.paragraph and kept:
                starts.add(len(kept))
            kept.append(replace(checked, origin=origin))
            kept_vectors.append(vector)
            focus = max(focus, float(vector @ self._question_vector))
        return SupportReport(
            tuple(kept), frozenset(starts), tuple(dropped), focus, tuple(kept_vectors), tuple(gaps)
        )

    def score(self, text: str, vector: Vector, numbers: Sequence[int]) -> float:
        """Support of a sentence by the union of the passages ``numbers`` (all must exist), in [0, 1]."""
        evidence = [self._evidence[n] for n in numbers]
        stems = frozenset().union(*(e.stems for e in evidence))
        if not _numbers(text) <= frozenset().union(*(e.numbers for e in evidence)):
            return 0.0
        names = (self._names | names_in([text])) & _name_keys(text)
        unsaid = names - frozenset().union(*(e.names for e in evidence))
        apart: frozenset[str] = frozenset()
        if unsaid:
            spelt = {t for t in tokenize(text) if _name_key(t) in unsaid}
            apart = _said_apart(spelt, [e.text for e in evidence])
            if not unsaid <= {_name_key(word) for word in apart}:
                return 0.0
        words = content_stems(text)
        lexical = len(words & (stems | {stem(word) for word in apart})) / len(words) if words else 0.0
        cosine = max(float(np.max(e.vectors @ vector)) for e in evidence)
        meaning = min(1.0, max(0.0, (cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR)))
        return MEANING_WEIGHT * meaning + (1 - MEANING_WEIGHT) * lexical

    def _check_one(self, draft: DraftSentence, vector: Vector) -> AnswerSentence | None:
        if any(n not in self._evidence for n in draft.citations):
            return None  # cites a moment that was never given: the model made it up
        if draft.text.endswith("?"):
            return None  # a question asserts nothing to support (small models copy a speaker's questions)
        if float(vector @ self._question_vector) < MIN_QUESTION_COSINE:
            return None
        citations = draft.citations
        if not citations:
            best = self._best_single(draft.text, vector)
            if best is None:
                return None
            citations = (best,)
        support = self.score(draft.text, vector, citations)
        if support < self._threshold:
            # Small models often copy a passage faithfully and then number it wrong. A sentence that one
            # other passage clearly backs is grounded: cite that passage (never keep the wrong number).
            best = self._best_single(draft.text, vector)
            if best is None:
                return None
            repaired = self.score(draft.text, vector, (best,))
            if repaired < self._threshold + REPAIR_MARGIN:
                return None
            citations, support = (best,), repaired
        else:
            # Supported as cited, yet often copied word for word from another moment: a sentence about renting
            # GPUs lifted from the lecture passes against a cost talk that also mentions GPUs. Cite the moment
            # it came from when that one backs it clearly better.
            best = self._best_single(draft.text, vector)
            if best is not None and best not in citations:
                better = self.score(draft.text, vector, (best,))
                if better >= support + REPAIR_MARGIN:
                    citations, support = (best,), better
        return AnswerSentence(draft.text, citations, supported=True, support=support)

    def _best_single(self, text: str, vector: Vector) -> int | None:
        return max(self._evidence, key=lambda n: self.score(text, vector, (n,)), default=None)


def names_in(texts: Iterable[str]) -> frozenset[str]:
    """Words written with a capital somewhere other than at the start of a sentence: names and acronyms."""
    found: set[str] = set()
    for text in texts:
        for sentence in _SENTENCE_BREAK.split(text):
            for word in sentence.split()[1:]:
                word = word.strip(_EDGE_PUNCTUATION)
                if len(word) > 1 and word[0].isupper() and word.lower() not in STOPWORDS:
                    found.add(_name_key(word))
    return frozenset(found)


def _name_key(word: str) -> str:
    """One key for "GPU", "GPUs" and "gpus" (the stemmer leaves acronyms' plurals alone)."""
    return stem(word.lower()).removesuffix("s")


def _name_keys(text: str) -> frozenset[str]:
    return frozenset(_name_key(t) for t in tokenize(text))


def _evidence(passage: Passage) -> _Evidence:
    vectors = np.asarray(passage.vectors, dtype=np.float32)
    if len(vectors) > 1:
        pairs = vectors[:-1] + vectors[1:]
        pairs /= np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-6)
        vectors = np.vstack([vectors, pairs])
    tokens = tokenize(passage.text)
    return _Evidence(
        vectors,
        stems=frozenset(stem(t) for t in tokens),
        names=frozenset(_name_key(t) for t in tokens),
        numbers=_numbers(passage.text, passage=True),
        text=passage.text,
    )


def _said_apart(words: Iterable[str], passages: Sequence[str]) -> frozenset[str]:
    """Those of ``words`` that ``passages`` say written apart: speech recognition writes the name Audioboom as
    "Audio Boom" and Podping as "pod ping", so a sentence that spells them as the question does still says
    what its moment says (search.text.matched_terms reads such words, as the keyword search finds them)."""
    heard = " ".join(passages)
    return frozenset(word for word in words if matched_terms([word], heard))


def content_stems(text: str) -> frozenset[str]:
    return frozenset(stem(t) for t in tokenize(text) if t not in STOPWORDS)


def figures(text: str) -> frozenset[str]:
    """The numerals standing alone in a text ("71 %", "2080"), as a claim states them: number words are left
    out, since "one of the best ways" states no figure."""
    return _numbers(text)


def _numbers(text: str, *, passage: bool = False) -> frozenset[str]:
    """Numbers a text states, as digits. A claim states a number only with a numeral standing alone ("GPT-4"
    names a model; "one of the ways" is no figure). A passage may say it anywhere, also in words, because
    transcripts spell numbers out ("four GPUs")."""
    found: set[str] = set()
    for token in tokenize(text):
        if passage:
            found.update(_NUMBER.findall(token))
            if token in _NUMBER_WORDS:
                found.add(_NUMBER_WORDS[token])
        elif _NUMBER.fullmatch(token):
            found.add(token)
    return frozenset(found)
