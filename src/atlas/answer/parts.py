"""A question of several parts, cut into them, so each part is searched on its own.

"What is MobileNet, and how much does the detector cost per day?" asks two things; searched whole, the
moments that match the first half best crowd out the second (one query vector sits between the two topics,
and the keyword terms of both compete). Cut into its parts, each part finds its own moments, and the answer
service merges them in turn (service.py), so every part reaches the generator.

The rule is deliberately simple and general:
  - a question mark with more text after it ends a part ("What is X? How big is it?"), so does a semicolon;
  - "and" / "also" / "and also" (after a comma or not) starts a new part only when a question word or an
    auxiliary verb follows it, perhaps after a preposition ("..., and how much does it cost?", "..., and
    across how many countries?"), so a list inside one question ("which
    podcasts came third and fourth?", "the pros and cons") stays whole;
  - a part of fewer than ``MIN_PART_WORDS`` words ("and why?") is too little to search on its own and stays
    with the part before it; at most ``MAX_PARTS`` parts.

A later part that leans on the first, through a pronoun ("..., and how many podcasts does it list?") or by
naming almost nothing itself ("..., and across how many countries?"), is searched with the first part's
content words not already in it (``search_text``), so "it" still finds the right talk.
"""

from __future__ import annotations

import re

from atlas.search.text import keyword_terms, tokenize

MIN_PART_WORDS = 3
MAX_PARTS = 4
# A later part with fewer content words than this names too little to search alone ("how many countries?")
MIN_OWN_TERMS = 3

_QUESTION_WORDS = (
    "what|how|why|where|when|which|who|whom|whose|is|are|was|were|does|do|did|can|could|should|would|will|"
    "has|have"
)
# "..., and how ...", "... and also what ...", "...; also, why ..."; the question word is kept with its part.
_PREPOSITIONS = "in|on|at|across|for|from|to|by|with|of|over|since|until"
_CONJUNCTION = re.compile(
    rf"(?:,\s*|\s+)(?:and\s+also|and|also),?\s+(?=(?:(?:{_PREPOSITIONS})\s+)?(?:{_QUESTION_WORDS})\b)",
    re.IGNORECASE,
)
# Words that shape a question rather than name its subject ("across how many ...?").
_FORM_WORDS = frozenset(f"{_QUESTION_WORDS}|{_PREPOSITIONS}|many|much|long|often".split("|"))
# Words that stand for something named earlier: a later part holding one is searched with the first's subject.
_PRONOUNS = frozenset("it its they them their this that these those one he she his her him".split())
# A "?" followed by more words, or a ";": the end of one part.
_STOP = re.compile(r"(?<=\?)\s+(?=\S)|\s*;\s*")
_EDGE = re.compile(r"^[\s,;:.!-]+|[\s,;:-]+$")


def split_question(question: str) -> tuple[str, ...]:
    """The parts of ``question``, in order; ``(question,)`` when it asks one thing."""
    question = " ".join(question.split())
    pieces: list[str] = []
    for sentence in _STOP.split(question):
        pieces += _CONJUNCTION.split(sentence)
    parts: list[str] = []
    for piece in pieces:
        piece = _EDGE.sub("", piece)
        if not piece:
            continue
        if parts and len(piece.split()) < MIN_PART_WORDS:
            parts[-1] = f"{parts[-1].rstrip('?')}, {piece}"
        else:
            parts.append(piece)
    if parts and len(parts[0].split()) < MIN_PART_WORDS and len(parts) > 1:
        parts[1] = f"{parts[0].rstrip('?')}, {parts[1]}"
        parts.pop(0)
    if len(parts) <= 1:
        return (question,)
    if len(parts) > MAX_PARTS:
        parts = [*parts[: MAX_PARTS - 1], " ".join(parts[MAX_PARTS - 1 :])]
    return tuple(parts)


def search_text(parts: tuple[str, ...], index: int) -> str:
    """What part ``index`` is searched with: the part itself, and for a later part with a pronoun or fewer
    than ``MIN_OWN_TERMS`` content words also the first part's content words that it does not repeat (the
    subject it most likely leans on)."""
    part = parts[index]
    own = set(keyword_terms(part)) - _FORM_WORDS
    if index == 0 or (len(own) >= MIN_OWN_TERMS and not _PRONOUNS.intersection(tokenize(part))):
        return part
    carried = [t for t in keyword_terms(parts[0]) if t not in own and t not in _FORM_WORDS]
    return f"{part} ({' '.join(carried)})" if carried else part
