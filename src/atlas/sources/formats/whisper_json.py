"""Whisper JSON: what openai-whisper (``--output_format json``), faster-whisper and whisperX users save.

Accepted shapes: ``{"segments": [...], "language": ...}`` or a bare list of segments. A segment has ``start``,
``end`` and ``text``; ``words`` is optional and each word carries ``word`` (openai-whisper, faster-whisper) or
``text`` (whisper-timestamped) and, usually, ``start``/``end``. whisperX leaves times off words it could not
align (numbers): those words keep ``None`` rather than a guessed time.
"""

from __future__ import annotations

import json
from typing import Any

from atlas.errors import SourceError
from atlas.models import Segment, Word
from atlas.sources.formats._common import json_seconds, load_json, normalise_space

_HINT = 'expected Whisper output: {"segments": [{"start": 0.0, "end": 2.5, "text": "..."}, ...]}'


def _time(value: Any, where: str, source: str) -> float | None:
    return json_seconds(value, where, source, hint=_HINT)


def _words(raw: Any, where: str, source: str) -> tuple[Word, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SourceError(source, f"{where}.words must be a list", hint=_HINT)
    words: list[Word] = []
    for i, item in enumerate(raw):
        at = f"{where}.words[{i}]"
        if not isinstance(item, dict):
            raise SourceError(source, f"{at} must be an object", hint=_HINT)
        text = item.get("word", item.get("text"))
        if text is None:
            raise SourceError(source, f"{at} has no 'word' text", hint=_HINT)
        if not isinstance(text, str):
            shown = json.dumps(text)[:40]
            raise SourceError(source, f"{at} 'word' must be a string, got {shown}", hint=_HINT)
        if text.strip():  # Whisper puts the space before a word inside it: " Hello"
            start, end = _time(item.get("start"), at, source), _time(item.get("end"), at, source)
            words.append(Word(text.strip(), start, end))
    return tuple(words)


def _segment(item: Any, index: int, source: str) -> Segment | None:
    where = f"segment {index}"
    if not isinstance(item, dict):
        raise SourceError(source, f"{where} must be an object", hint=_HINT)
    words = _words(item.get("words"), where, source)
    text = item.get("text")
    if text is None and words:
        text = " ".join(word.text for word in words)
    if text is None:
        raise SourceError(source, f"{where} has no 'text'", hint=_HINT)
    if not isinstance(text, str):
        shown = json.dumps(text)[:40]
        raise SourceError(source, f"{where} 'text' must be a string, got {shown}", hint=_HINT)
    text = normalise_space(text)
    if not text:
        return None  # Whisper emits empty segments over silence
    start, end = _time(item.get("start"), where, source), _time(item.get("end"), where, source)
    return Segment(text, start, end, words)


class WhisperJsonFormat:
    name: str = "whisper-json"

    def sniff(self, path_suffix: str, head: str) -> bool:
        return path_suffix == ".json"

    def parse(self, text: str, source: str) -> list[Segment]:
        data = load_json(text, source, hint=_HINT)
        raw = data.get("segments") if isinstance(data, dict) else data
        if not isinstance(raw, list) or not raw:
            raise SourceError(source, "no Whisper segments in this JSON file", hint=_HINT)
        return [segment for i, item in enumerate(raw) if (segment := _segment(item, i, source)) is not None]
