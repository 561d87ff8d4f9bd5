"""Never worse than extractive, end to end: a loopback OpenAI-compatible server that lies (adds figures and
names no moment says) answers through ``Library.ask`` / ``ask_stream`` and ``atlas ask`` in a fresh process.
The lie is dropped and listed, supported quotes from the moments stand in for it, and the answer is given."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.answer import service
from atlas.config import Settings
from atlas.library import Library
from atlas.models import Answer, AnswerDone, AnswerToken, AskOptions
from tests.conftest import FAKE_EMBEDDER, SAMPLES
from tests.integration.test_ask_cli import atlas
from tests.loopback_llm import INVENTED_CLAUSE, INVENTED_SENTENCE, FakeServer, fake_llm_server

LECTURE = SAMPLES / "berkeley-ai-rubric-lecture.whisper.txt"
QUESTION = "What is Gradescope, the automated grading platform?"
# Shares no word with the lecture: the hashing embedder of these tests measures shared words, not meaning
# (test_ask_real_model.py asks "How do I bake banana bread with walnuts?" with the real model).
OFF_TOPIC = "Banana bread: walnuts, flour, oven temperature?"
TRUE_SENTENCE = "Gradescope is sort of an automated grading platform"


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ask-fallback") / "library"
    with Library.open(Settings(library_dir=directory, embedder=FAKE_EMBEDDER)) as lib:
        assert not lib.ingest([str(LECTURE)]).failed
    return directory


@pytest.fixture
def lib(library_dir: Path) -> Iterator[Library]:
    with Library.open(Settings(library_dir=library_dir, embedder=FAKE_EMBEDDER)) as opened:
        yield opened


@pytest.fixture
def liar() -> Iterator[FakeServer]:
    with fake_llm_server("lies") as server:
        yield server


def through(server: FakeServer) -> AskOptions:
    return AskOptions(generator="openai-compatible", base_url=server.url, model="fake-model")


def assert_quotes_stand_in_for_the_lie(answer: Answer) -> None:
    """Every shown sentence is supported and quoted word for word from the moment it cites."""
    assert answer.answered
    assert answer.generator == "openai-compatible/fake-model + extractive"
    (lie,) = answer.dropped
    assert "Napoleon Bonaparte" in lie and "Napoleon" not in answer.text
    assert TRUE_SENTENCE in answer.text
    cited = {c.number: c.hit for c in answer.citations}
    assert sorted(cited) == list(range(1, len(cited) + 1))
    for sentence in answer.sentences:
        assert sentence.supported and sentence.origin == "extracted" and sentence.citations
        assert sentence.text.rstrip(".").lower() in cited[sentence.citations[0]].window.text.lower()


def test_a_lying_model_still_gets_a_supported_answer(lib: Library, liar: FakeServer) -> None:
    answer = lib.ask(QUESTION, through(liar))
    assert len(liar.requests) == 1  # the model was asked, and lied
    assert_quotes_stand_in_for_the_lie(answer)


def test_true_sentences_stay_the_models_and_are_not_repeated(lib: Library) -> None:
    with fake_llm_server("true-then-lies") as server:
        answer = lib.ask(QUESTION, through(server))
    assert answer.answered
    (lie,) = answer.dropped
    assert lie.startswith(INVENTED_SENTENCE)
    assert answer.sentences[0].origin == "generated" and TRUE_SENTENCE in answer.sentences[0].text
    assert answer.text.count(TRUE_SENTENCE) == 1  # the quote it paraphrased is not added again
    assert "Napoleon" not in answer.text


def test_the_stream_shows_the_lie_then_ends_with_the_checked_answer(lib: Library, liar: FakeServer) -> None:
    events = list(lib.ask_stream(QUESTION, through(liar)))
    streamed = "".join(e.text for e in events if isinstance(e, AnswerToken))
    assert INVENTED_CLAUSE.strip(", ") in streamed  # tokens are the model's, as generated
    done = events[-1]
    assert isinstance(done, AnswerDone)
    assert_quotes_stand_in_for_the_lie(done.answer)


def test_a_library_without_the_answer_still_says_so(lib: Library, liar: FakeServer) -> None:
    answer = lib.ask(OFF_TOPIC, through(liar))
    assert not answer.answered and answer.text == service.OFF_TOPIC and answer.sentences == ()
    assert liar.requests == []  # nothing relevant to read: the model is not even asked


def test_cli_json_holds_the_quotes_and_lists_the_lie(library_dir: Path, liar: FakeServer) -> None:
    endpoint = ["--generator", "openai-compatible", "--base-url", liar.url, "--model", "fake-model"]
    done = atlas(library_dir, QUESTION, *endpoint, "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["answered"] is True
    assert payload["generator"] == "openai-compatible/fake-model + extractive"
    assert len(payload["dropped"]) == 1 and "Napoleon" in payload["dropped"][0]
    assert TRUE_SENTENCE in payload["answer"] and "Napoleon" not in payload["answer"]
    assert payload["sentences"] and {s["origin"] for s in payload["sentences"]} == {"extracted"}
    assert all(s["supported"] for s in payload["sentences"])

    shown = atlas(library_dir, QUESTION, *endpoint)  # streamed, then the checked answer the user reads
    assert shown.returncode == 0, shown.stderr
    checked = shown.stdout.split("Checked answer", 1)[1]
    assert "1 unsupported sentence removed" in checked and "quoted from the moments" in checked
    assert TRUE_SENTENCE in checked and "Napoleon" not in checked
    assert "Written by openai-compatible/fake-model + extractive" in checked

    off_topic = atlas(library_dir, OFF_TOPIC, *endpoint, "--json")
    assert off_topic.returncode == 0 and json.loads(off_topic.stdout)["answered"] is False
