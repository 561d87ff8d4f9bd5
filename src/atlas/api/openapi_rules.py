"""The parts of the API document that depend on how this server was started.

``asr_model`` takes only the bundled Whisper models and the ones the operator allowed (security.py checks it),
and ``generator`` only the generators installed (answer/registry.py, plugins included) that this server can
run: ``openai-compatible`` only when the server was given an endpoint and a model name (a client cannot pass
either; asked for without them, the server answers 400). The document lists exactly those, so a client (or a
fuzzer) reading it knows what will be accepted instead of finding out from a 400. The request models
themselves stay plain strings: the lists are not known until the app starts.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from atlas.answer.registry import runnable_generator_names
from atlas.asr.models import BUNDLED_MODELS
from atlas.config import AnswerSettings, ServeSettings


def document_serve_rules(app: FastAPI, serve: ServeSettings, answer: AnswerSettings) -> None:
    """Wrap ``app.openapi`` so that the document it builds (once, then cached) states this server's rules."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            offered = list(dict.fromkeys((*BUNDLED_MODELS, *serve.allowed_asr_models)))
            models = schema["components"]["schemas"]
            _one_of(models["IngestOptionsIn"]["properties"]["asr_model"], offered)
            _one_of(models["AskIn"]["properties"]["generator"], runnable_generator_names(answer))
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _one_of(option: dict[str, Any], names: list[str]) -> None:
    option["anyOf"] = [{"type": "string", "enum": names}, {"type": "null"}]
