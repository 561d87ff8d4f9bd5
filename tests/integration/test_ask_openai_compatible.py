"""The OpenAI-compatible generator against a real HTTP server on 127.0.0.1 that speaks the chat-completions
streaming protocol (server-sent events), and ``Library.ask`` through it."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

EXCERPT = re.compile(r'^\[(\d+)\] "[^"]*", [^:]+(?::\d\d)*: (.+)$', re.MULTILINE)
WORD = re.compile(r"[a-z]+")


@dataclass
class FakeServer:
    """What the fake model does (``mode``) and what it was sent (``requests``)."""

    url: str
    mode: str = "faithful"
    requests: list[dict[str, Any]] = field(default_factory=list)


def _reply(body: dict[str, Any]) -> str:
    """A faithful tiny "model": the excerpt sentence sharing most words with the question, cited."""
    prompt = body["messages"][-1]["content"]
    question = set(WORD.findall(prompt.split("Question:")[-1].lower()))
    candidates = [
        (len(question & set(WORD.findall(sentence.lower()))), number, sentence)
        for number, text in EXCERPT.findall(prompt)
        for sentence in re.split(r"(?<=[.!?])\s+", text)
    ]
    _, number, sentence = max(candidates)
    return f"{sentence.rstrip('.')} [{number}]."


def _handler(state: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if state.mode == "unauthorized":
                return self._send(
                    401, "application/json", {"error": {"message": "Incorrect API key provided"}}
                )
            if state.mode == "crash":
                return self._send(500, "text/plain", "upstream exploded")
            if state.mode == "html":
                return self._send(200, "text/html", "<html>hello</html>")
            if state.mode == "whole-json":
                message = {"role": "assistant", "content": _reply(body)}
                return self._send(200, "application/json", {"choices": [{"index": 0, "message": message}]})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b": keep-alive\n\n")
            for piece in re.findall(r"\S+\s*", _reply(body)):
                self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
                if state.mode == "dies-mid-answer":
                    self._event({"error": {"message": "model crashed"}})
                    return
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            self.wfile.write(b"data: [DONE]\n\n")

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

        def _send(self, status: int, content_type: str, payload: object) -> None:
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


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
        ("dies-mid-answer", "failed mid-answer: model crashed", "--fallback"),
    ],
)
def test_server_errors_become_one_clear_line(server: FakeServer, mode: str, message: str, hint: str) -> None:
    server.mode = mode
    generator = OpenAICompatibleGenerator(server.url, "fake-model")
    with pytest.raises(GeneratorError) as info:
        list(generator.stream(_request()))
    line = info.value.one_line()
    assert message in line and hint in line and "\n" not in line
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
    assert answer.answered and answer.generator == "openai-compatible/fake-model"
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
