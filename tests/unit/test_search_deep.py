"""Deep search: an LLM's rewrites of the query are searched too and fused in (here a fixed rewriter stands in
for the model, over a library embedded with the hashing embedder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import atlas.answer.llama_cpp as llama_cpp
from atlas.answer.base import AnswerRequest
from atlas.config import AnswerSettings, SearchSettings, Settings
from atlas.errors import DependencyMissingError
from atlas.library import Library
from atlas.search import engine, rewrite
from atlas.search.rewrite import FixedRewriter, LlmQueryRewriter, build_messages, parse_rewrites
from tests.conftest import FAKE_EMBEDDER

QUERY = "turning raw scores into probabilities"
TOPICS = (
    "The garden needs water every morning. Tomatoes grow best in full sun. Mulch keeps the soil moist.",
    "Our budget for the trip was tight. We booked trains early. Hostels were cheaper than hotels.",
    "The last layer applies a softmax. Each logit is exponentiated and divided by the total.",
    "Bicycles need their chains oiled. Tyres lose pressure over weeks. Brakes wear down in the rain.",
    "The choir rehearsed on Tuesdays. Sopranos sat on the left. The conductor counted us in.",
    "Bread rises in a warm kitchen. Knead the dough for ten minutes. Bake it until the crust is brown.",
)


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    path = tmp_path / "talk.txt"
    # One paragraph per topic, each long enough to fill its own windows.
    path.write_text("\n\n".join(" ".join([text] * 4) for text in TOPICS) + "\n")
    return path


@pytest.fixture
def rewriter() -> FixedRewriter:
    return FixedRewriter({QUERY: ["softmax, logit", "The softmax exponentiates each logit."]})


@pytest.fixture
def library(tmp_path: Path, talk: Path, rewriter: FixedRewriter) -> Iterator[Library]:
    settings = Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER)
    with Library.open(settings, rewriter=rewriter) as lib:
        assert not lib.ingest([str(talk)]).failed
        yield lib


def test_deep_search_fuses_in_the_hits_of_the_rewrites(library: Library, rewriter: FixedRewriter) -> None:
    plain = library.search(QUERY, limit=3, mode="keyword")
    assert not any("softmax" in hit.window.text for hit in plain)  # no word in common with the passage
    assert rewriter.calls == []

    deep = library.search(QUERY, limit=3, mode="keyword", deep=True)
    assert "softmax" in deep[0].window.text  # found only through the rewrites' BM25 rankings
    assert rewriter.calls == [QUERY]


def test_hybrid_fusion_lifts_the_window_a_rewrite_names(
    tmp_path: Path, talk: Path, rewriter: FixedRewriter
) -> None:
    # Without the rerank stage the order is the fused one: the rewrites' two rankings put the window first.
    settings = Settings(
        library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER, search=SearchSettings(rerank=False)
    )
    with Library.open(settings, rewriter=rewriter) as lib:
        lib.ingest([str(talk)])
        assert "softmax" not in lib.search(QUERY, limit=1)[0].window.text
        assert "softmax" in lib.search(QUERY, limit=1, deep=True)[0].window.text


def test_deep_search_can_rerank_and_pin_with_the_mean_vector(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The mean of the query's and the rewrites' vectors pins on the sentence the rewrites name.
    monkeypatch.setattr(engine, "DEEP_RERANK_VECTOR", "mean")
    hit = library.search(QUERY, limit=1, deep=True)[0]
    assert "softmax" in hit.snippet.lower()


def test_plain_search_never_calls_the_rewriter(library: Library, rewriter: FixedRewriter) -> None:
    for mode in ("hybrid", "keyword", "vector"):
        library.search(QUERY, limit=5, mode=mode)
    assert rewriter.calls == []


def test_plain_search_never_loads_the_model(
    tmp_path: Path, talk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(settings: AnswerSettings | None = None) -> LlmQueryRewriter:
        raise AssertionError("a plain search loaded the rewriting model")

    monkeypatch.setattr(rewrite, "bundled_rewriter", refuse)
    settings = Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER)
    with Library.open(settings) as lib:
        lib.ingest([str(talk)])
        assert lib.search(QUERY, limit=3)


def test_deep_search_without_rewrites_is_the_query_alone(library: Library) -> None:
    # A query the rewriter has nothing for: the deep result is the plain search's.
    query = "oiled bicycle chains"
    deep = library.search(query, limit=3, deep=True)
    plain = library.search(query, limit=3)
    assert [h.window.first_sentence for h in deep] == [h.window.first_sentence for h in plain]


def test_parse_rewrites_keeps_only_the_two_labelled_lines() -> None:
    text = (
        "Sure! Here you go:\n"
        "TERMS: softmax, Softmax, logits, softmax.\n"
        "SPEECH: Then we apply a softmax to get probabilities.\n"
        "TERMS: ignored second terms line\n"
        "Note: something else"
    )
    assert parse_rewrites(text, QUERY) == ["softmax, logits", "Then we apply a softmax to get probabilities."]
    assert parse_rewrites("no labels at all", QUERY) == []
    assert parse_rewrites("SPEECH: Turning raw scores into probabilities!", QUERY) == []  # the query again
    assert parse_rewrites("TERMS:   \nSPEECH: x" + "y" * 500, QUERY) == ["x" + "y" * 239]


class _FakeModel:
    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.requests: list[AnswerRequest] = []
        self.pieces = 0
        self.closed = False

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        self.requests.append(request)
        try:
            for piece in self.reply.split(" "):
                self.pieces += 1
                yield piece + " "
        finally:
            self.closed = True


def test_llm_rewriter_stops_once_both_lines_are_written() -> None:
    model = _FakeModel(
        "TERMS: softmax\nSPEECH: We apply a softmax.\n TERMS: more text the model rambles on with"
    )
    assert LlmQueryRewriter(model).rewrite(QUERY) == ["softmax", "We apply a softmax."]
    assert model.closed and model.pieces < len(model.reply.split(" "))
    request = model.requests[0]
    assert request.messages == build_messages(QUERY) and request.max_tokens == rewrite.MAX_REWRITE_TOKENS
    assert QUERY in request.messages[-1].content


def test_a_missing_model_is_one_line_naming_deep(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(settings: AnswerSettings) -> None:
        raise DependencyMissingError("the bundled answer model is not installed", hint="pip install ...")

    monkeypatch.setattr(llama_cpp, "create", missing)
    monkeypatch.setattr(rewrite, "_loaded", {})
    with pytest.raises(DependencyMissingError) as raised:
        rewrite.bundled_rewriter(AnswerSettings(model_cache_dir=Path("/nonexistent")))
    assert "--deep" in raised.value.one_line() and "without --deep" in (raised.value.hint or "")


def test_deep_search_without_the_model_is_one_line_with_the_install_hint(
    tmp_path: Path, talk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(settings: AnswerSettings) -> None:
        raise DependencyMissingError("the bundled answer model is not installed", hint="pip install ...")

    monkeypatch.setattr(llama_cpp, "create", missing)
    monkeypatch.setattr(rewrite, "_loaded", {})
    settings = Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER)
    with Library.open(settings) as lib:
        lib.ingest([str(talk)])
        assert lib.search("softmax", deep=True)  # a short query is searched as typed: no model needed
        with pytest.raises(DependencyMissingError) as raised:
            lib.search(QUERY, deep=True)
    assert raised.value.exit_code == 5 and "atlas-search[answer]" in raised.value.one_line()
