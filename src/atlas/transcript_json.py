"""The JSON form of a transcript's segments, written and read in one place.

Segments are kept as JSON in the export format (docs/export-format.md) and the ASR transcript cache
(asr/cache.py), and an ingested video's content hash is taken over them; all use this form, so a transcript
reads back the same from either file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from atlas.models import Segment, Word


def segments_to_json(segments: Sequence[Segment]) -> list[dict[str, Any]]:
    """The documented JSON form of segments: ``words`` and ``speaker`` only where a segment has them."""
    out: list[dict[str, Any]] = []
    for s in segments:
        item: dict[str, Any] = {"start": s.start, "end": s.end, "text": s.text}
        if s.words:
            item["words"] = [{"text": w.text, "start": w.start, "end": w.end} for w in s.words]
        if s.speaker is not None:
            item["speaker"] = s.speaker
        out.append(item)
    return out


def segments_from_json(items: Iterable[dict[str, Any]]) -> tuple[Segment, ...]:
    """Segments back from ``segments_to_json``'s form. ``KeyError`` / ``TypeError`` for a malformed item."""
    return tuple(
        Segment(
            text=item["text"],
            start=item.get("start"),
            end=item.get("end"),
            words=tuple(Word(w["text"], w.get("start"), w.get("end")) for w in item.get("words", [])),
            speaker=speaker_from_json(item.get("speaker")),
        )
        for item in items
    )


def speaker_from_json(value: Any) -> str | None:
    """A stored speaker: None for none (files written before speakers were kept have no "speaker" keys)."""
    if value is None or isinstance(value, str):
        return value or None
    raise TypeError(f"a speaker must be a string or null, got {value!r}")
