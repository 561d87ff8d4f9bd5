"""The OpenAI-compatible generator against a real HTTP server on 127.0.0.1 that speaks the chat-completions
streaming protocol (server-sent events, tests/loopback_llm.py), and ``Library.ask`` through it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from atlas.answer.base import AnswerRequest, Message
from atlas.answer.openai_compatible import OpenAICompatibleGenerator
from atlas.config import AnswerSettings, Settings
from atlas.errors import GeneratorError, UserInputError
from atlas.library import Library
from atlas.models import AnswerDone, AnswerToken, AskOptions, MomentsFound
from tests.conftest import SAMPLES
from tests.loopback_llm import FakeServer, fake_llm_server


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with fake_llm_server() as state:
        yield state


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there any more


def _request() -> AnswerRequest:
    messages = (
        Message("system", "Cite."),
        Message(
            "user",
            'Excerpts:\n[1] "Talk", 0:00:05: Batching cuts the bill. More.\n\n'
            "Question: how does batching cut the bill?",
        ),
    )
    return AnswerRequest("how?", np.zeros(4, dtype=np.float32), (), messages, max_tokens=64)


def test_streams_the_answer_and_sends_a_proper_request(server: FakeServer) -> None:
    generator = OpenAICompatibleGenerator(server.url, "fake-model", api_key="sk-test")
    pieces = list(generator.stream(_request()))
    assert len(pieces) > 1 and "".join(pieces) == "Batching cuts the bill [1]."
    (sent,) = server.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer sk-test"
    body = sent["body"]
    assert body["model"] == "fake-model" and body["stream"] is True and body["temperature"] == 0
    assert body["max_tokens"] == 64
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_a_server_that_ignores_stream_still_answers(server: FakeServer) -> None:
    server.mode = "whole-json"
    generator = OpenAICompatibleGenerator(server.url, "fake-model")
    assert "".join(generator.stream(_request())) == "Batching cuts the bill [1]."
    assert "Authorization" not in server.requests[0]["headers"]  # no key configured, none sent


@pytest.mark.parametrize(
    ("mode", "message", "hint"),
    [
        ("unauthorized", "answered HTTP 401: Incorrect API key provided", "ATLAS_OPENAI_API_KEY"),
        ("crash", "answered HTTP 500: upstream exploded", "--base-url"),
        ("html", "did not answer in the chat-completions format", "/v1"),
        (
            "html-501",
            "answered HTTP 501: Error response Error code: 501 Message: Unsupported method",
            "--base-url",
        ),
        ("dies-mid-answer", "failed mid-answer: model crashed", "--fallback"),
    ],
)
def test_server_errors_become_one_clear_line(server: FakeServer, mode: str, message: str, hint: str) -> None:
    server.mode = mode
    generator = OpenAICompatibleGenerator(server.url, "fake-model")
    with pytest.raises(GeneratorError) as info:
        list(generator.stream(_request()))
    line = info.value.one_line()
    assert message in line and hint in line and "\n" not in line and "\r" not in line
    assert "<" not in line and "font-family" not in line and len(line) < 400
    assert info.value.exit_code == 6 and info.value.http_status == 502


def test_an_unreachable_endpoint_is_a_generator_error(closed_port_url: str) -> None:
    generator = OpenAICompatibleGenerator(closed_port_url, "fake-model", timeout_s=5)
    with pytest.raises(GeneratorError, match=r"cannot reach the generator at http://127\.0\.0\.1:") as info:
        list(generator.stream(_request()))
    assert "--fallback" in info.value.one_line()


@pytest.fixture
def timed_library(fake_library: Library) -> Library:
    fake_library.ingest([str(SAMPLES / "berkeley-ai-rubric-lecture.whisper.txt")])
    return fake_library


QUESTION = "What is Gradescope, the automated grading platform?"


def test_library_answers_through_the_endpoint_with_cited_timed_moments(
    timed_library: Library, server: FakeServer
) -> None:
    answer = timed_library.ask(
        QUESTION, AskOptions(generator="openai-compatible", base_url=server.url, model="fake-model")
    )
    # "+ extractive" when quotes follow what the model said (answer/fallback.py)
    assert answer.answered and answer.generator.startswith("openai-compatible/fake-model")
    assert answer.sentences and all(s.citations for s in answer.sentences)
    cited = {c.number: c.hit for c in answer.citations}
    for sentence in answer.sentences:
        for number in sentence.citations:
            hit = cited[number]
            assert hit.moment is not None and hit.url.endswith(f"#t={int(hit.moment)}")
            assert sentence.text.rstrip(".") in hit.window.text
    assert "Gradescope" in answer.text


def test_generator_failure_falls_back_to_extractive_only_when_asked(
    timed_library: Library, closed_port_url: str
) -> None:
    options: dict[str, Any] = {"generator": "openai-compatible", "base_url": closed_port_url, "model": "m"}
    with pytest.raises(GeneratorError):
        timed_library.ask(QUESTION, AskOptions(**options))
    events = list(timed_library.ask_stream(QUESTION, AskOptions(fallback=True, **options)))
    assert isinstance(events[0], MomentsFound) and isinstance(events[-1], AnswerDone)
    assert any(isinstance(e, AnswerToken) for e in events)
    answer = events[-1].answer
    assert answer.answered and answer.generator.startswith("extractive (fallback: openai-compatible/m failed")
    assert "cannot reach" in answer.generator


def test_a_failure_mid_answer_falls_back_after_what_was_streamed(
    timed_library: Library, server: FakeServer
) -> None:
    server.mode = "dies-mid-answer"
    events = list(
        timed_library.ask_stream(
            QUESTION, AskOptions(generator="openai-compatible", base_url=server.url, model="m", fallback=True)
        )
    )
    tokens = [e.text for e in events if isinstance(e, AnswerToken)]
    assert tokens[0] == "Gradescope " and "\n\n" in tokens  # the abandoned start, then the extract afresh
    answer = events[-1]
    assert isinstance(answer, AnswerDone) and answer.answer.answered
    assert "failed mid-answer" in answer.answer.generator


def test_a_question_too_long_for_the_context_is_refused(
    fake_settings: Settings, server: FakeServer, timed_library: Library
) -> None:
    small = fake_settings.with_(answer=AnswerSettings(context_tokens=400, max_answer_tokens=100))
    with Library.open(small) as lib:
        question = "What is Gradescope " + "and why does it matter " * 40
        with pytest.raises(UserInputError, match="question takes"):
            lib.ask(question[:900], AskOptions(generator="openai-compatible", base_url=server.url, model="m"))
    assert server.requests == []  # refused before anything was sent


def test_a_model_that_repeats_itself_is_stopped_and_said_once(
    timed_library: Library, server: FakeServer
) -> None:
    """Greedy decoding that starts repeating a sentence repeats it until the token budget runs out: the
    library stops reading at the first repeat, and the answer says the sentence once, with nothing dropped."""
    server.mode = "loops"  # the faithful sentence, LOOP_REPEATS times over
    options = AskOptions(generator="openai-compatible", base_url=server.url, model="m")
    events = list(timed_library.ask_stream(QUESTION, options))
    streamed = "".join(e.text for e in events if isinstance(e, AnswerToken))
    # The sentence and its repeat; the stop comes at the repeat's end, before the third starts.
    assert streamed.count("automated grading platform") == 2
    answer = events[-1]
    assert isinstance(answer, AnswerDone) and answer.answer.answered
    generated = [s for s in answer.answer.sentences if s.origin == "generated"]
    assert len(generated) == 1 and "Gradescope" in generated[0].text
    assert answer.answer.dropped == ()
    assert len(server.requests) == 1
