"""Words written apart in the transcript and together in the query, or the other way round.

Speech recognition and captions split names and compounds that a user types as one word: Whisper writes the
podcast company Audioboom as "Audio Boom" and the protocol Podping as "pod ping", an espeak-ng reading of
"cowpat" comes back as "cow pat"; a manual caption may write "wellbeing" where the user types "well being".
Keyword search then finds nothing for the word, though the talk says it. So a keyword query also asks for

* each word **no window holds**, cut in two words that windows do hold, as a phrase ("audioboom" ->
  ``"audio boom"``): the two must be said one after the other, so a cut that happens to leave two known words
  ("request" -> "re quest") finds nothing unless a speaker said exactly that; and
* each two neighbouring query words joined into one that windows hold ("pod ping" -> "podping").

Each store counts the windows that hold a word from its own vocabulary (FTS5's, or the PostgreSQL store's
term statistics), so this module only proposes the spellings and keeps those the counts allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise

MIN_PART = 3  # letters in each half of a cut: "re" + "quest" is a prefix, not a word
MAX_SPLITS = 2  # spellings kept per unknown word, those whose rarer half is most common first

Counter = Callable[[Sequence[str]], Mapping[str, int]]


def _word(term: str) -> bool:
    return term.isalpha() and term.isascii()


def _cuts(term: str) -> list[tuple[str, str]]:
    return [(term[:i], term[i:]) for i in range(MIN_PART, len(term) - MIN_PART + 1)]


def respellings(terms: Sequence[str], counts: Mapping[str, int], windows_with: Counter) -> list[str]:
    """The other spellings worth searching for ``terms`` (keyword terms, lower-case, in query order):
    phrases of two words for a word no window holds, single words for two neighbouring ones. ``counts``: the
    windows holding each term; ``windows_with`` counts them for other words (0 for none), both as the store's
    keyword index tokenizes them."""
    unknown = [t for t in terms if _word(t) and counts.get(t, 0) == 0 and len(t) >= 2 * MIN_PART]
    cuts = {t: _cuts(t) for t in unknown}
    joined = [a + b for a, b in pairwise(terms) if _word(a) and _word(b)]
    asked = {part for pairs in cuts.values() for pair in pairs for part in pair} | set(joined)
    found = windows_with(sorted(asked)) if asked else {}
    extra: list[str] = []
    for term in unknown:
        known = [(a, b) for a, b in cuts[term] if found.get(a, 0) > 0 and found.get(b, 0) > 0]
        known.sort(key=lambda pair: -min(found[pair[0]], found[pair[1]]))
        extra.extend(f"{a} {b}" for a, b in known[:MAX_SPLITS])
    extra.extend(word for word in joined if found.get(word, 0) > 0 and word not in terms)
    return list(dict.fromkeys(extra))
