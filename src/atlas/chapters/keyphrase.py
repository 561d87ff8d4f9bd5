"""Extractive chapter titles: the phrase that most sets a chapter apart from the rest of the talk.

Candidates are runs of one to three content words inside a sentence (no stopword, filler or number inside),
which in speech are mostly noun phrases ("mixture of experts" gives "experts"; "GPU server racks" stays
whole). A phrase scores by TF-IDF with the talk's chapters as the documents: how often the chapter says it
times how few other chapters do, the words' scores summed, so a two-word phrase that is said often wins over
either word alone. The title is the best phrase (as most often written), then a second one that shares no
word with it, when it scores at least half as well.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from atlas.models import Sentence
from atlas.search.text import STOPWORDS

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*[A-Za-z0-9]|[A-Za-z]")
# Words that carry no topic in speech (on top of the search stopwords).
FILLER = frozenset(
    """going go goes went want wanted need needs say said says see saw look looking know knew think thought
    mean means make makes made use used using way ways lot lots bit little much many well right sure yes
    something anything everything nothing someone everyone people person one two three first second next
    last good great pretty actually basically literally probably maybe stuff things today now time times
    let us able even still back around come comes coming take takes talk talking said tell told point
    different same kinds whole new old big small sorts question questions example start started doing done
    ones guys hey oh ah hmm alright gotta wanna hello thanks thank year years day days part else might
    gets getting give gives gave put puts find found try trying tried keep kept show shows works work working
    call called calls happen happens happened seems seem feel felt whatever another every everybody somebody
    able okay cool nice awesome kinda per via lot minute minutes second seconds bunch idea ideas case cases
    reason
    we'll we've i'd you'll you've he's she's they'll they've wasn't weren't won't wouldn't couldn't
    shouldn't hasn't haven't aren't there'll here's who's how's where's""".split()
)
MAX_PHRASE_WORDS = 3
MAX_TITLE_CHARS = 60


_ASIDE = re.compile(r"\([^)]*\)|\[[^\]]*\]")  # "(man speaking indistinctly)", "[Music]": not the talk


def _is_content(word: str) -> bool:
    lowered = word.lower().replace("’", "'")
    return (
        len(lowered) > 2
        and lowered not in STOPWORDS
        and lowered not in FILLER
        and not (lowered.endswith("ly") and len(lowered) > 4)  # adverbs: "personally", "really"
    )


def phrases(text: str) -> list[tuple[str, ...]]:
    """Every run of 1..3 consecutive content words, lower-cased (each run also gives its sub-runs)."""
    found: list[tuple[str, ...]] = []
    run: list[str] = []
    for piece in re.split(r"[.,;:!?()\"“”]+", _ASIDE.sub(" ", text)):
        run = []
        for word in _WORD.findall(piece):
            if _is_content(word):
                run.append(word.lower().replace("’", "'"))
                for size in range(1, min(MAX_PHRASE_WORDS, len(run)) + 1):
                    found.append(tuple(run[-size:]))
            else:
                run = []
    return found


def _surface_forms(text: str) -> dict[tuple[str, ...], Counter[str]]:
    """How each candidate phrase is written (to title it "GPU" not "gpu")."""
    forms: dict[tuple[str, ...], Counter[str]] = {}
    for piece in re.split(r"[.,;:!?()\"“”]+", _ASIDE.sub(" ", text)):
        run: list[str] = []
        for word in _WORD.findall(piece):
            if not _is_content(word):
                run = []
                continue
            run.append(word)
            for size in range(1, min(MAX_PHRASE_WORDS, len(run)) + 1):
                written = run[-size:]
                key = tuple(w.lower().replace("’", "'") for w in written)
                forms.setdefault(key, Counter())[" ".join(written)] += 1
    return forms


class KeyphraseTitler:
    name = "keyphrase"

    def titles(self, spans: Sequence[Sequence[Sentence]]) -> list[str]:
        texts = [" ".join(s.text for s in span) for span in spans]
        counts = [Counter(phrases(text)) for text in texts]
        word_df: Counter[str] = Counter()
        for chapter in counts:
            word_df.update({p[0] for p in chapter if len(p) == 1})
        n = len(spans)
        return [self._title(text, chapter, word_df, n) for text, chapter in zip(texts, counts, strict=True)]

    def _title(self, text: str, counts: Counter[tuple[str, ...]], word_df: Counter[str], n: int) -> str:
        if not counts:
            return _fallback(text)

        def idf(word: str) -> float:
            return math.log((1 + n) / (1 + word_df[word])) + 1.0

        def score(phrase: tuple[str, ...]) -> float:
            tf = counts[phrase]
            return tf * sum(idf(w) for w in phrase) * (1.0 if len(phrase) == 1 else 1.2)

        # A phrase the chapter says more than once, when there is one: once may be a passing remark.
        repeated = [p for p in counts if counts[p] > 1] or list(counts)
        ranked = sorted(repeated, key=lambda p: (-score(p), -len(p), p))
        best = ranked[0]
        chosen = [best]
        for phrase in ranked[1:6]:
            if not set(phrase) & set(best) and score(phrase) >= 0.5 * score(best):
                chosen.append(phrase)
                break
        forms = _surface_forms(text)
        written = [_written(p, forms) for p in chosen]
        title = ", ".join(written)
        if len(title) > MAX_TITLE_CHARS:
            title = written[0][:MAX_TITLE_CHARS]
        return title[:1].upper() + title[1:]


def _written(phrase: tuple[str, ...], forms: dict[tuple[str, ...], Counter[str]]) -> str:
    seen = forms.get(phrase)
    if not seen:
        return " ".join(phrase)
    # The most common spelling; among equals, one with capitals (names, acronyms) over sentence-initial case.
    top = max(seen.values())
    candidates = sorted(w for w, c in seen.items() if c == top)
    return max(candidates, key=lambda w: sum(ch.isupper() for ch in w[1:]))


def _fallback(text: str) -> str:
    words = text.split()
    title = " ".join(words[:6])
    return title + ("…" if len(words) > 6 else "")
