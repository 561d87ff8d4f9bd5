"""Other spellings of keyword terms (atlas.index.compounds), over a fixed vocabulary; the stores' own
vocabularies are exercised by tests/contract/test_index_contract.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from atlas.index.compounds import respellings

VOCABULARY = {"audio": 40, "boom": 3, "aud": 1, "ioboom": 0, "cow": 2, "pat": 5, "podping": 4, "pod": 7,
              "ping": 2, "request": 9, "re": 50, "quests": 1}  # fmt: skip


def windows_with(asked: Sequence[str]) -> Mapping[str, int]:
    return {term: VOCABULARY.get(term, 0) for term in asked}


def test_a_word_no_window_holds_is_also_searched_as_two_said_together() -> None:
    terms = ["audioboom", "shares"]
    assert respellings(terms, windows_with(terms), windows_with) == ["audio boom"]
    assert respellings(["cowpat"], windows_with(["cowpat"]), windows_with) == ["cow pat"]


def test_two_neighbouring_words_are_also_searched_as_one() -> None:
    terms = ["pod", "ping", "feeds"]
    assert respellings(terms, windows_with(terms), windows_with) == ["podping"]


def test_known_words_short_cuts_and_non_words_are_left_alone() -> None:
    for terms in (["request"], ["gpt-4"], ["op3"], ["zyzzy"]):
        assert respellings(terms, windows_with(terms), windows_with) == []
    # Halves need three letters each: "re" + "quests" would be a prefix, not a word.
    assert respellings(["requests"], {}, windows_with) == []


def test_at_most_two_cuts_per_word_the_most_common_halves_first() -> None:
    vocabulary = {"ab": 0, "abc": 9, "defg": 9, "abcd": 5, "efg": 5, "abcde": 1, "fg": 1}
    counter = lambda asked: {t: vocabulary.get(t, 0) for t in asked}  # noqa: E731
    assert respellings(["abcdefg"], {}, counter) == ["abc defg", "abcd efg"]
