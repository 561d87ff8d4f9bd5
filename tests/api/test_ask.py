"""POST /api/ask: plain JSON, or server-sent events (moments, token*, done), and its errors."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atlas.library import Library
from atlas.models import AskOptions
from tests.api.conftest import ingest

pytestmark = pytest.mark.skipif(
    not hasattr(Library, "ask_stream"), reason="Library.ask / ask_stream are not in this build yet"
)
# The hashing embedder used here scores passages by shared words: the question nearly repeats a sentence of
# the garden talk, so the answer service finds its moments relevant whatever its exact threshold.
QUESTION = "When should you water tomato plants in the garden?"
GARDEN_VTT = """WEBVTT

00:00:01.000 --> 00:00:05.000
Welcome back to the garden show.

00:00:05.000 --> 00:00:11.000
You should water tomato plants in the garden early in the morning.

00:00:11.000 --> 00:00:16.000
Compost made from kitchen scraps feeds the soil for the next season.
"""
ANSWER_KEYS = {"question", "answer", "answered", "generator", "sentences", "citations", "dropped"}


@pytest.fixture
def loaded(client: TestClient, data_dir: Path) -> TestClient:
    (data_dir / "garden-show.vtt").write_text(GARDEN_VTT)
    assert ingest(client, data_dir)["state"] == "done"
    return client


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in text.split("\n\n"):
        if not frame.strip():
            continue
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_plain_json_answer_matches_the_library(loaded: TestClient) -> None:
    response = loaded.post("/api/ask", json={"question": QUESTION, "generator": "extractive"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == ANSWER_KEYS
    library = loaded.app.state.atlas.library  # type: ignore[attr-defined]
    assert body == library.ask(QUESTION, AskOptions(generator="extractive")).to_json()
    assert body["answered"] and body["citations"]
    assert body["citations"][0]["video_id"] == "garden-show"
    assert body["citations"][0]["moment"] == 5.0


def test_streamed_answer_is_moments_then_tokens_then_done(loaded: TestClient) -> None:
    with loaded.stream(
        "POST",
        "/api/ask",
        json={"question": QUESTION, "generator": "extractive", "limit": 5},
        headers={"Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse("".join(response.iter_text()))
    names = [name for name, _ in events]
    assert names[0] == "moments" and names[-1] == "done"
    assert set(names[1:-1]) == {"token"}
    moments, done = events[0][1], events[-1][1]
    assert {c["video_id"] for c in moments["citations"]} <= set(moments["videos"])
    assert [c["number"] for c in moments["citations"]] == list(range(1, len(moments["citations"]) + 1))
    assert set(done) == ANSWER_KEYS and done["answered"]
    streamed = "".join(data["text"] for name, data in events if name == "token")
    for sentence in done["sentences"]:
        assert sentence["text"].rstrip(".!?")[:60] in streamed  # what was kept was streamed first
    # The lock the stream held is free again: a second question is answered at once.
    assert loaded.post("/api/ask", json={"question": QUESTION, "generator": "extractive"}).status_code == 200


def test_ask_on_an_empty_library_says_so(client: TestClient) -> None:
    body = client.post("/api/ask", json={"question": QUESTION, "generator": "extractive"}).json()
    assert body["answered"] is False and body["citations"] == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"question": ""}, "question: String should have at least 1 character"),
        ({"question": "x" * 1001}, "question: String should have at most 1000 characters"),
        ({"question": "why?", "limit": 0}, "limit: Input should be greater than or equal to 1"),
        ({"question": "why?", "after": "someday"}, "after:"),
        ({"question": "why?", "generator": "no-such-model"}, "unknown generator"),
        ({"question": "why?", "model": "/etc/passwd"}, "model: Input should be 'qwen-0.5b' or 'qwen-1.5b'"),
        ({"question": "   "}, "the question is empty"),
    ],
)
def test_bad_questions_are_400(loaded: TestClient, body: dict[str, object], fragment: str) -> None:
    for accept in ("application/json", "text/event-stream"):
        response = loaded.post("/api/ask", json=body, headers={"Accept": accept})
        assert response.status_code == 400, (accept, response.text)
        assert response.json()["error"]["code"] == "bad_input"
        assert fragment in response.json()["error"]["message"]


def test_questions_wait_for_a_busy_generator(loaded: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas.api.routes import ask as ask_route

    monkeypatch.setattr(ask_route, "ASK_WAIT_SECONDS", 0.2)
    lock: threading.Lock = loaded.app.state.atlas.ask_lock  # type: ignore[attr-defined]
    with lock:  # another question is being answered
        response = loaded.post("/api/ask", json={"question": QUESTION, "generator": "extractive"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "busy"
    assert loaded.post("/api/ask", json={"question": QUESTION, "generator": "extractive"}).status_code == 200


def test_a_client_leaving_mid_stream_frees_the_generator(
    loaded: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas.api.routes import ask as ask_route

    monkeypatch.setattr(ask_route, "ASK_WAIT_SECONDS", 5.0)
    with loaded.stream(
        "POST",
        "/api/ask",
        json={"question": QUESTION, "generator": "extractive"},
        headers={"Accept": "text/event-stream"},
    ) as response:
        first = next(response.iter_lines())
        assert first == "event: moments"
    # The stream was abandoned after its first line; the next question must not wait for it.
    assert loaded.post("/api/ask", json={"question": QUESTION, "generator": "extractive"}).status_code == 200
