"""How stored things look to a client: one serializer per response shape, shared by the CLI's ``--json`` and
the HTTP API, so that ``atlas list --json`` and ``GET /api/videos`` cannot drift apart.

Each function returns plain JSON-ready values. The API's pydantic ``*Out`` models (api/schemas.py) declare
the same shapes for the OpenAPI document; tests/api/test_schema_agreement.py checks that every serializer's
output validates against its model and has exactly its fields. A hit's shape is ``models.Hit.to_json`` and an
answer's ``models.Answer.to_json``, beside the types they read.

This module sits below both faces: it imports neither ``atlas.cli`` nor ``atlas.api`` (nor FastAPI).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from atlas.index.base import VideoRecord
from atlas.ingest_report import STATUSES, ItemOutcome, Status
from atlas.models import Hit, Video
from atlas.search.links import is_link
from atlas.search.text import matching_words
from atlas.youtube_urls import is_youtube_id, youtube_id_from_url

# What the page's player can play, by suffix (the transcript source pairs media files by these suffixes).
# Here, not in the server's security module, because a video's view says whether it plays (``media_type``).
MEDIA_TYPES: dict[str, str] = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".opus": "audio/ogg",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
}


def media_type(video: Video) -> str | None:
    """``audio``/``video`` for a local media item, None for anything else (the page picks its player)."""
    if video.kind != "media":
        return None
    stored = video.extra.get("media_path")
    suffix = Path(stored if isinstance(stored, str) else video.source).suffix.lower()
    mime = MEDIA_TYPES.get(suffix)
    return mime.split("/", 1)[0] if mime else None


def youtube_id(video: Video) -> str | None:
    """The id to embed a YouTube player with (a user may have given the video another id)."""
    if video.kind != "youtube":
        return None
    from_url = youtube_id_from_url(video.url) if video.url else None
    return from_url or (video.video_id if is_youtube_id(video.video_id) else None)


def thumbnail_url(video: Video) -> str | None:
    if video.thumbnail and video.thumbnail.startswith("https://"):
        return video.thumbnail
    yt = youtube_id(video)
    return f"https://i.ytimg.com/vi/{yt}/hqdefault.jpg" if yt else None


def video_json(video: Video) -> dict[str, Any]:
    """A video as ``atlas list --json`` and ``GET /api/videos`` show it (``VideoOut``)."""
    kind_of_media = media_type(video)
    return {
        "video_id": video.video_id,
        "title": video.title,
        "source": video.source,
        "kind": video.kind,
        "url": video.url if is_link(video.url) else None,
        "channel": video.channel,
        "published": video.published,
        "duration": video.duration,
        "thumbnail": thumbnail_url(video),
        "youtube_id": youtube_id(video),
        "transcript_origin": video.transcript_origin,
        "timed": video.timed,
        "media_url": f"/media/{quote(video.video_id, safe='')}" if kind_of_media else None,
        "media_type": kind_of_media,
    }


def record_json(record: VideoRecord) -> dict[str, Any]:
    """A video with its timed transcript, as ``atlas show --json`` and ``GET /api/videos/{id}`` show it
    (``VideoDetailOut``)."""
    return {
        **video_json(record.video),
        "language": record.transcript.language,
        "windows": len(record.windows),
        "sentences": len(record.sentences),
        "segments": [
            {"start": s.start, "end": s.end, "text": s.text, "speaker": s.speaker}
            for s in record.transcript.segments
        ],
    }


def highlight_words(hit: Hit) -> list[str]:
    """The snippet's words (lower-cased) that matched a query term, as the engine matched them: "graded" for
    "grading", "audio" and "boom" for "audioboom". The page marks them; it has no stemmer of its own."""
    return matching_words(list(hit.matched_terms), hit.snippet)


def outcome_json(outcome: ItemOutcome) -> dict[str, Any]:
    """One ingested item, as ``atlas ingest --json`` and a job's outcomes show it (``OutcomeOut``)."""
    return {
        "target": outcome.target,
        "status": outcome.status,
        "video_id": outcome.video_id,
        "title": outcome.title,
        "windows": outcome.windows,
        "message": outcome.message,
        "warnings": list(outcome.warnings),
    }


def outcome_counts(statuses: Iterable[Status]) -> dict[Status, int]:
    """How many items ended in each status, every status listed (``OutcomeCountsOut``)."""
    counts = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        counts[status] += 1
    return counts
