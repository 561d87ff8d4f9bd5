"""Common-term pruning in the SQLite store's BM25 (atlas.index.sqlite.terms), on a real SQLite library with
the threshold lowered so that a handful of windows makes a term "common"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.index.sqlite import SqliteIndex
from atlas.index.sqlite import terms as sqlite_terms
from atlas.index.sqlite.rows import fts_query
from atlas.index.sqlite.schema import _DDL as SCHEMA  # the DDL, read by a test only
from atlas.models import SearchFilters
from tests.contract.test_index_contract import IDENTITY, record

NO_FILTER = SearchFilters()
TEXTS = (
    "crane ship lifts boxes",  # 0: rare "crane" and common "ship"
    "crane boat lifts boxes",  # 1: rare "crane" only, same length
    "the ship sails at dawn",
    "the ship yard is busy",
    "the night ship carries oil",
    "ships and more ships",  # "ship" is in 5 windows, "the" in 3, "crane" in 2
    *(f"quiet filler line number {n}" for n in range(14)),  # so that "ship" still weighs in BM25
)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteIndex]:
    store = SqliteIndex(tmp_path / "lib")
    store.claim(IDENTITY)
    store.put_video(record("port", TEXTS))
    yield store
    store.close()


def texts_of(index: SqliteIndex, keys: list[int]) -> list[str]:
    return [w.window.text for w in index.windows(keys)]


def test_small_library_never_prunes(index: SqliteIndex) -> None:
    hits = index.keyword_search(["crane", "ship"], 20, NO_FILTER)
    assert len(hits) == 6  # every window holding either word


def test_rare_term_restricts_candidates_and_common_terms_still_score(
    index: SqliteIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    with index._read() as conn:
        counts = sqlite_terms.window_counts(conn, ["crane", "ship", "shipping", "the"])
    assert counts == {"crane": 2, "ship": 5, "shipping": 5, "the": 3}  # Porter stems, as the index has them
    monkeypatch.setattr(sqlite_terms, "COMMON_TERM_WINDOWS", 2)  # "ship" and "the" common, "crane" rare
    hits = index.keyword_search(["crane", "ship"], 20, NO_FILTER)
    # Only windows with the rare word are candidates, and the common word still counts: of two windows alike
    # but for it, the one that has it ranks first.
    assert texts_of(index, [h.key for h in hits]) == [TEXTS[0], TEXTS[1]]
    assert hits[0].score > hits[1].score


def test_no_pruning_when_all_terms_are_common_or_unknown(
    index: SqliteIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_terms, "COMMON_TERM_WINDOWS", 2)
    assert len(index.keyword_search(["ship", "the"], 20, NO_FILTER)) == 5
    # A word no window holds is not "rare": it must not restrict the query to nothing.
    assert len(index.keyword_search(["zyzzyva", "ship"], 20, NO_FILTER)) == 5
    with index._read() as conn:
        assert sqlite_terms.keyword_match(conn, ["zyzzyva", "ship"]) == fts_query(["zyzzyva", "ship"])


@pytest.mark.parametrize("term", ['"', "NEAR(crane", "crane*", "'; DROP TABLE windows; --", "don't", "\x00"])
def test_odd_terms_are_counted_safely(index: SqliteIndex, monkeypatch: pytest.MonkeyPatch, term: str) -> None:
    monkeypatch.setattr(sqlite_terms, "COMMON_TERM_WINDOWS", 2)
    hits = index.keyword_search([term, "crane", "ship"], 20, NO_FILTER)
    assert TEXTS[0] in texts_of(index, [h.key for h in hits])
    assert index.counts()["windows"] == len(TEXTS)


def test_scratch_tokenizer_is_the_index_tokenizer() -> None:
    declared = re.search(r"windows_fts USING fts5 \(.*?tokenize = '([^']+)'", SCHEMA, re.S)
    assert declared and declared.group(1) == sqlite_terms.FTS_TOKENIZER
