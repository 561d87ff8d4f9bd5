"""Podcasting 2.0 JSON transcripts: what the podcast namespace's ``<podcast:transcript>`` tag points at when
its type is ``application/json`` (Buzzsprout, Podnews and other hosts serve them to podcast apps).

Shape: ``{"version": "1.0.0", "segments": [{"speaker": "Alban", "startTime": 0.0, "endTime": 4.8, "body":
"..."}, ...]}``, times in float seconds. Hosts cut the text in two ways: one segment per caption display line
(a caption's two lines become two segments with the same times) or one segment per word. Consecutive segments
with the same times and speaker are one caption, so they become one segment; word-level files keep a segment
per word, which the sentence splitter joins. The ``speaker`` label is never spoken, so it is not text: it is
the segment's ``speaker``.

Detected by content: a ``.json`` file whose head has ``"startTime"`` and ``"body"`` keys (Whisper JSON has
``start`` / ``text``).
"""

from __future__ import annotations

import re
from typing import Any

from atlas.errors import SourceError
from atlas.models import Segment
from atlas.sources.formats._common import json_seconds, load_json, normalise_space

_HINT = (
    'expected a Podcasting 2.0 JSON transcript: {"version": "1.0.0", "segments": '
    '[{"startTime": 0.0, "endTime": 2.5, "body": "...", "speaker": "..."}, ...]}'
)
_SHAPE = (re.compile(r'"startTime"\s*:'), re.compile(r'"body"\s*:'))


def _time(value: Any, where: str, source: str) -> float | None:
    return json_seconds(value, where, source, hint=_HINT)


class PodcastJsonFormat:
    name: str = "podcast-json"

    def sniff(self, path_suffix: str, head: str) -> bool:
        return path_suffix == ".json" and all(pattern.search(head) for pattern in _SHAPE)

    def parse(self, text: str, source: str) -> list[Segment]:
        data = load_json(text, source, hint=_HINT)
        raw = data.get("segments") if isinstance(data, dict) else None
        if not isinstance(raw, list) or not raw:
            raise SourceError(source, "no Podcasting 2.0 segments in this JSON file", hint=_HINT)
        segments: list[Segment] = []
        previous_key: tuple[float | None, float | None, Any] | None = None
        for i, item in enumerate(raw):
            where = f"segment {i}"
            if not isinstance(item, dict):
                raise SourceError(source, f"{where} must be an object", hint=_HINT)
            body = item.get("body")
            if not isinstance(body, str):
                raise SourceError(source, f"{where} 'body' must be a string", hint=_HINT)
            start = _time(item.get("startTime"), f"{where} startTime", source)
            end = _time(item.get("endTime"), f"{where} endTime", source)
            body = normalise_space(body)
            if not body:
                continue
            speaker = item.get("speaker")
            speaker = normalise_space(speaker) or None if isinstance(speaker, str) else None
            key = (start, end, speaker)
            if key == previous_key and start is not None:  # the second display line of the same caption
                last = segments[-1]
                segments[-1] = Segment(f"{last.text} {body}", last.start, last.end, speaker=last.speaker)
            else:
                segments.append(Segment(body, start, end, speaker=speaker))
            previous_key = key
        return segments
