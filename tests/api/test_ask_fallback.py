"""POST /api/ask (JSON and server-sent events) with a server whose generator is a loopback
OpenAI-compatible endpoint that lies: the lie is dropped and listed, quotes from the moments answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from atlas.config import AnswerSettings, Settings
from tests.api.conftest import ingest
from tests.api.test_ask import ANSWER_KEYS, parse_sse
from tests.conftest import FAKE_EMBEDDER
from tests.loopback_llm import INVENTED_CLAUSE, FakeServer, fake_llm_server

QUESTION = "What is Gradescope, the automated grading platform?"
TRUE_SENTENCE = "Gradescope is sort of an automated grading platform"
GENERATOR = "openai-compatible/fake-model + extractive"


@pytest.fixture
def liar() -> Iterator[FakeServer]:
    with fake_llm_server("lies") as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, liar: FakeServer) -> Settings:
    """The server's own default generator is the lying endpoint (requests name no generator)."""
    answer = AnswerSettings(generator="openai-compatible", base_url=liar.url, model="fake-model")
    return Settings(library_dir=tmp_path / "library", embedder=FAKE_EMBEDDER, answer=answer)


@pytest.fixture
def loaded(client: TestClient, data_dir: Path) -> TestClient:
    assert ingest(client, data_dir / "berkeley-ai-rubric-lecture.whisper.txt")["state"] == "done"
    return client


def assert_answered_by_quotes(body: dict[str, object]) -> None:
    assert set(body) == ANSWER_KEYS and body["answered"] is True and body["generator"] == GENERATOR
    dropped, answer, sentences = body["dropped"], body["answer"], body["sentences"]
    assert isinstance(dropped, list) and len(dropped) == 1 and "Napoleon" in dropped[0]
    assert isinstance(answer, str) and TRUE_SENTENCE in answer and "Napoleon" not in answer
    assert isinstance(sentences, list) and sentences
    assert all(s["supported"] and s["origin"] == "extracted" and s["citations"] for s in sentences)


def test_json_answer_quotes_the_moments_instead_of_the_lie(loaded: TestClient, liar: FakeServer) -> None:
    response = loaded.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    assert_answered_by_quotes(response.json())
    assert len(liar.requests) == 1


def test_the_stream_ends_with_the_checked_answer(loaded: TestClient) -> None:
    with loaded.stream(
        "POST", "/api/ask", json={"question": QUESTION}, headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.status_code == 200
        events = parse_sse("".join(response.iter_text()))
    names = [name for name, _ in events]
    assert names[0] == "moments" and names[-1] == "done" and set(names[1:-1]) == {"token"}
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert INVENTED_CLAUSE.strip(", ") in streamed  # the model's tokens as they came
    done = events[-1][1]
    assert_answered_by_quotes(done)
    moments = {c["number"] for c in events[0][1]["citations"]}
    final = {c["number"] for c in done["citations"]}
    assert moments <= final  # numbers stay those streamed; a quote may add moments after them
    assert {n for s in done["sentences"] for n in s["citations"]} <= final


def test_a_question_the_library_cannot_answer_stays_unanswered(loaded: TestClient, liar: FakeServer) -> None:
    body = loaded.post(
        "/api/ask", json={"question": "Banana bread: walnuts, flour, oven temperature?"}
    ).json()
    assert body["answered"] is False and body["sentences"] == [] and "Napoleon" not in body["answer"]
