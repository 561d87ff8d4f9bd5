"""Query text -> keyword terms, shared by the keyword retriever, the reranker and pinning."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from itertools import pairwise
from typing import Any

import snowballstemmer

_TOKEN = re.compile(r"[\w][\w'’\-\.]*[\w]|[\w]", re.UNICODE)
_POSSESSIVE = re.compile(r"(?<=\w)'s$")

# Function words carry no topic: dropping them keeps BM25 from ranking on "the" and keeps FTS5 queries fast.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    i'm it's that's don't what's let's there's i've you're we're they're can't isn't didn't doesn't
    also really like just yeah okay ok um uh gonna wanna kind sort thing things get got""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; inner apostrophes, hyphens and dots kept ("top-k", "gpt-4", "u.s")."""
    return [t.replace("’", "'").lower() for t in _TOKEN.findall(text)]


def keyword_terms(query: str, max_terms: int = 16) -> list[str]:
    """Distinct content words of a query, in order. Falls back to all words for an all-stopword query. A
    possessive is the word itself: FTS5 reads "audioboom's" as the phrase "audioboom s", which a talk that
    says "Audioboom" without the 's never holds."""
    tokens = tokenize(query)
    content = [_POSSESSIVE.sub("", t) for t in tokens if t not in STOPWORDS]
    chosen = [t for t in content if t] or tokens
    seen: dict[str, None] = {}
    for t in chosen:
        seen.setdefault(t, None)
    return list(seen)[:max_terms]


_LOCAL = threading.local()


def _stemmer() -> Any:
    # A Snowball stemmer keeps the word it is working on in itself, so a shared one garbles stems (or raises
    # IndexError) when the API searches from several threads: one stemmer per thread.
    stemmer = getattr(_LOCAL, "stemmer", None)
    if stemmer is None:
        stemmer = _LOCAL.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """English Snowball stem, so "prices" meets "price" (FTS5's porter tokenizer does the index side)."""
    return str(_stemmer().stemWord(word))


def _joined(word: str) -> str:
    """A hyphenated word's stem as one word: "decoder-only", "decoder only" and "decoderonly" meet here."""
    return stem(word.replace("-", ""))


@lru_cache(maxsize=256)
def _term_keys(terms: tuple[str, ...]) -> tuple[dict[str, frozenset[str]], frozenset[str], frozenset[str]]:
    """Per query, once: each term's stems (as written, and hyphens dropped), their first three letters, and
    their longer beginnings (a stemmer keeps the first letters, so of two words written apart the first
    begins the term's stem)."""
    keys = {t: frozenset((stem(t), _joined(t))) for t in terms}
    prefixes = frozenset(key[:3] for both in keys.values() for key in both)
    heads = frozenset(key[:i] for both in keys.values() for key in both for i in range(3, len(key)))
    return keys, prefixes, heads


def matched_terms(terms: list[str], text: str) -> list[str]:
    """Which query terms (by stem) occur in a text.

    Runs for every shortlisted window and sentence of every query, so it stems only the text's words that
    begin like a query stem (a suffix stripper leaves the first letters alone); stemming every word of 40
    windows cost more than the whole index lookup at a million windows.
    """
    keys, prefixes, heads = _term_keys(tuple(terms))
    tokens = tokenize(text)
    said = {stem(tok) for tok in tokens if tok[:3] in prefixes}
    for tok in (tok for tok in tokens if "-" in tok):  # as FTS5 reads it: each part, and the whole as one
        said.update(stem(part) for part in (*tok.split("-"), tok.replace("-", "")) if part[:3] in prefixes)
    # A word the transcript writes apart ("Audio Boom" for the query's "audioboom", "decoder only" for
    # "decoder-only"; index/compounds.py has the keyword index find the first, FTS5 the second) is said.
    apart = {stem(a + b) for a, b in pairwise(tokens) if a in heads}
    matched = {t for t, both in keys.items() if both & said or both & apart}
    # Two query words the transcript writes as one ("podping" for "pod ping") are said, both.
    for a, b in pairwise(terms):
        if stem(a + b) in said:
            matched.update((a, b))
    return [t for t in terms if t in matched]


def matching_words(terms: list[str], text: str) -> list[str]:
    """The text's words (lower-cased, in order, once each) that say one of ``terms`` as ``matched_terms``
    reads them: what a page marks ("audio" and "boom" for the term "audioboom")."""
    found = matched_terms(terms, text)
    if not found:
        return []
    tokens = tokenize(text)
    by_word = {tok: matched_terms(found, tok) for tok in set(tokens)}
    words = {tok for tok, terms_said in by_word.items() if terms_said}
    apart = [t for t in found if not any(t in terms_said for terms_said in by_word.values())]
    # Two words that say a term no single word says (a snippet saying it both ways marks the single word).
    for a, b in pairwise(tokens) if apart else ():
        if matched_terms(apart, f"{a} {b}"):
            words.update((a, b))
    return [word for word in dict.fromkeys(tokens) if word in words]
