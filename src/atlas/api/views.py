"""How stored things look in responses (videos, record details): plain dicts matching the schemas."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from atlas.api.security import media_type
from atlas.index.base import VideoRecord
from atlas.models import Hit, Video
from atlas.search.links import is_link
from atlas.search.text import stem, tokenize
from atlas.sources.transcript_files import youtube_id_from_url

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")


def youtube_id(video: Video) -> str | None:
    """The id to embed a YouTube player with (a user may have given the video another id)."""
    if video.kind != "youtube":
        return None
    from_url = youtube_id_from_url(video.url) if video.url else None
    return from_url or (video.video_id if _YOUTUBE_ID.fullmatch(video.video_id) else None)


def thumbnail_url(video: Video) -> str | None:
    if video.thumbnail and video.thumbnail.startswith("https://"):
        return video.thumbnail
    yt = youtube_id(video)
    return f"https://i.ytimg.com/vi/{yt}/hqdefault.jpg" if yt else None


def video_json(video: Video) -> dict[str, Any]:
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


def highlight_words(hit: Hit) -> list[str]:
    """The snippet's words (lower-cased) that matched a query term by stem, as the engine matched them:
    "graded" for the term "grading". The page marks them; it has no stemmer of its own."""
    stems = {stem(term) for term in hit.matched_terms}
    prefixes = {s[:3] for s in stems}  # stemming keeps the first letters: stem only words that could match
    words = (word for word in tokenize(hit.snippet) if word[:3] in prefixes and stem(word) in stems)
    return list(dict.fromkeys(words))


def record_json(record: VideoRecord) -> dict[str, Any]:
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
