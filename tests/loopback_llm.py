"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 (real HTTP, real server-sent events) whose
tiny "model" reads the excerpts the prompt holds and answers in one of several ways (``FakeServer.mode``):

    faithful          the excerpt sentence sharing most words with the question, cited
    lies              that sentence with invented figures and names added (what small models do)
    true-then-lies    the faithful sentence, then a made-up one citing the same excerpt
    loops             the faithful sentence, then it again, and again, for LOOP_REPEATS times (greedy
                      decoding's failure: the client must stop reading)
    unauthorized, crash, html, html-501, whole-json, dies-mid-answer    broken servers of several kinds
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EXCERPT = re.compile(r'^\[(\d+)\] "[^"]*", [^:]+(?::\d\d)*: (.+)$', re.MULTILINE)
WORD = re.compile(r"[a-z]+")
# Neither the figures nor the names are in any sample transcript: the support checker must drop these.
INVENTED_CLAUSE = ", as Napoleon Bonaparte showed in 1887 with 40 Zeppelins"
INVENTED_SENTENCE = "It was first sold in 1887 by Napoleon Bonaparte for 40 francs"
LOOP_REPEATS = 400
HTML_ERROR_PAGE = """<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <style type="text/css">body { font-family: sans-serif; }</style>
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: 501</p>
        <p>Message: Unsupported method ('POST').</p>
    </body>
</html>
"""


@dataclass
class FakeServer:
    """What the fake model does (``mode``) and what it was sent (``requests``)."""

    url: str
    mode: str = "faithful"
    requests: list[dict[str, Any]] = field(default_factory=list)


def _best_sentence(body: dict[str, Any]) -> tuple[str, str]:
    """The excerpt sentence sharing most words with the question, and its excerpt's number."""
    prompt = body["messages"][-1]["content"]
    question = set(WORD.findall(prompt.split("Question:")[-1].lower()))
    candidates = [
        (len(question & set(WORD.findall(sentence.lower()))), number, sentence)
        for number, text in EXCERPT.findall(prompt)
        for sentence in re.split(r"(?<=[.!?])\s+", text)
    ]
    _, number, sentence = max(candidates)
    return sentence.rstrip("."), number


def reply(body: dict[str, Any], mode: str = "faithful") -> str:
    sentence, number = _best_sentence(body)
    if mode == "lies":
        return f"{sentence}{INVENTED_CLAUSE} [{number}]."
    if mode == "true-then-lies":
        return f"{sentence} [{number}]. {INVENTED_SENTENCE} [{number}]."
    if mode == "loops":
        return " ".join([f"{sentence} [{number}]."] * LOOP_REPEATS)
    return f"{sentence} [{number}]."


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
            if state.mode == "html-501":  # what http.server, nginx and friends send for an unknown route
                page = HTML_ERROR_PAGE.replace("\n", "\r\n")
                return self._send(501, "text/html", page)
            if state.mode == "whole-json":
                message = {"role": "assistant", "content": reply(body)}
                return self._send(200, "application/json", {"choices": [{"index": 0, "message": message}]})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b": keep-alive\n\n")
            for piece in re.findall(r"\S+\s*", reply(body, state.mode)):
                try:
                    self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client stopped reading (a looping answer is left early)
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


@contextmanager
def fake_llm_server(mode: str = "faithful") -> Iterator[FakeServer]:
    """A started server; its OpenAI-compatible API root is ``.url``."""
    state = FakeServer(url="", mode=mode)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
