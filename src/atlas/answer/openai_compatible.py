"""Any server that speaks OpenAI's ``POST /v1/chat/completions`` with ``stream: true`` (server-sent events):
Ollama, llama.cpp's server, vLLM, LM Studio, OpenAI itself.

The standard library's urllib is enough for one streaming POST, so this generator adds no dependency. The
API key comes from the settings (``ATLAS_OPENAI_API_KEY`` or ``OPENAI_API_KEY``, read in config.py).
"""

from __future__ import annotations

import html
import ipaddress
import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.client import HTTPResponse
from typing import Any
from urllib.parse import urlsplit

from atlas.answer.base import AnswerRequest
from atlas.config import AnswerSettings
from atlas.errors import GeneratorError, UserInputError

DEFAULT_CONTEXT_TOKENS = 8192  # what most served models offer; AnswerSettings.context_tokens overrides it
CHARS_PER_TOKEN = 3.0  # English runs ~4 characters a token; 3 over-counts, so packing never overflows
_FIX = "start the server or check --base-url; add --fallback to answer extractively when it fails"


class OpenAICompatibleGenerator:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UserInputError(
                f"--base-url {base_url!r} is not an http(s) URL",
                hint="pass the API root, e.g. --base-url http://127.0.0.1:11434/v1",
            )
        self.url = base_url.rstrip("/") + "/chat/completions"
        # A server on this machine is never behind the HTTP proxy the environment may name for the internet.
        handlers = [urllib.request.ProxyHandler({})] if _is_loopback(parts.hostname or "") else []
        self._opener = urllib.request.build_opener(*handlers)
        self.model = model
        self.name = f"openai-compatible/{model}"
        self.context_tokens = context_tokens
        self._api_key = api_key
        self._timeout = timeout_s

    def count_tokens(self, text: str) -> int:
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
            "temperature": 0,
            "max_tokens": request.max_tokens,
        }
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        http_request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers)
        response = self._open(http_request)
        with response:
            content_type = response.headers.get("Content-Type", "")
            if "text/event-stream" not in content_type:
                # A server that ignores ``stream`` answers with one JSON document.
                yield _message_content(self._json(response.read()))
                return
            yield from self._events(response)

    def _open(self, request: urllib.request.Request) -> HTTPResponse:
        try:
            response: HTTPResponse = self._opener.open(request, timeout=self._timeout)
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc.read(4096))
            raise GeneratorError(
                f"the generator at {self.url} answered HTTP {exc.code}{': ' + detail if detail else ''}",
                hint=_hint_for_status(exc.code),
            ) from None
        except urllib.error.URLError as exc:
            raise GeneratorError(
                f"cannot reach the generator at {self.url} ({exc.reason})", hint=_FIX
            ) from None
        except (TimeoutError, ConnectionError) as exc:
            raise GeneratorError(f"the generator at {self.url} did not answer ({exc})", hint=_FIX) from None
        return response

    def _events(self, response: HTTPResponse) -> Iterator[str]:
        try:
            for raw in response:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue  # blank separators, ": keep-alive" comments, "event:" names
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    return
                event = self._json(data.encode())
                if "error" in event:
                    raise GeneratorError(
                        f"the generator at {self.url} failed mid-answer: {_error_text(event['error'])}",
                        hint=_FIX,
                    )
                for choice in event.get("choices") or ():
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        yield str(piece)
        except (TimeoutError, ConnectionError) as exc:
            raise GeneratorError(
                f"the generator at {self.url} stopped answering ({exc})", hint=_FIX
            ) from None

    def _json(self, payload: bytes) -> dict[str, Any]:
        try:
            value = json.loads(payload)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise GeneratorError(
                f"the generator at {self.url} did not answer in the chat-completions format",
                hint="point --base-url at an OpenAI-compatible API root (the URL ending in /v1)",
            )
        return value


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def _message_content(document: dict[str, Any]) -> str:
    choices = document.get("choices") or [{}]
    return str((choices[0].get("message") or {}).get("content") or "")


def _error_detail(body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return _one_line(body.decode("utf-8", "replace"))
    if isinstance(document, dict) and "error" in document:
        return _error_text(document["error"])
    return ""


def _one_line(text: str) -> str:
    """An error body as a short line: an HTML error page (a proxy's, a server without the route) becomes its
    words without tags, style or script, so the message stays one readable line."""
    text = re.sub(r"(?is)<(style|script|head)\b.*?</\1\s*>", " ", text)
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    line = " ".join(text.split())
    return line if len(line) <= 200 else line[:199] + "…"


def _error_text(error: object) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)[:200]
    return str(error)[:200]


def _hint_for_status(status: int) -> str:
    if status in (401, 403):
        return "set the API key in ATLAS_OPENAI_API_KEY (or OPENAI_API_KEY)"
    if status == 404:
        return "check --base-url (the API root ending in /v1) and that --model names a model the server has"
    return _FIX


def settings_problem(settings: AnswerSettings) -> UserInputError | None:
    """Why these settings cannot run this generator (it needs ``--base-url`` and ``--model``), or None. The
    API's document and its ask route ask this too (answer/registry.runnable_generator_names)."""
    if not settings.base_url:
        return UserInputError(
            "the openai-compatible generator needs an endpoint",
            hint="pass e.g. --base-url http://127.0.0.1:11434/v1 (or set ATLAS_GENERATOR_BASE_URL)",
        )
    if not settings.model:
        return UserInputError(
            "the openai-compatible generator needs a model name",
            hint="pass --model, e.g. --model llama3.1 (or set ATLAS_GENERATOR_MODEL)",
        )
    return None


def create(settings: AnswerSettings) -> OpenAICompatibleGenerator:
    """The generator for ``--generator openai-compatible``."""
    problem = settings_problem(settings)
    if problem is not None:
        raise problem
    assert settings.base_url and settings.model  # what settings_problem checked
    return OpenAICompatibleGenerator(
        settings.base_url,
        settings.model,
        api_key=settings.api_key,
        timeout_s=settings.timeout_s,
        context_tokens=settings.context_tokens or DEFAULT_CONTEXT_TOKENS,
    )
