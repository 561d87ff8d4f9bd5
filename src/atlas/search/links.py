"""Deep links that open a player at the moment."""

from __future__ import annotations

from atlas.models import Video
from atlas.youtube_urls import youtube_watch_url


def format_moment(seconds: float | None) -> str:
    """h:mm:ss (or "—" when the time is unknown)."""
    if seconds is None:
        return "—"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


LINK_SCHEMES = ("http", "https", "file")


def is_link(url: str | None) -> bool:
    """True for a URL a client may follow: http(s), or file: (Atlas makes those for local files). A stored
    ``javascript:`` URL (a library from before URLs were checked) is never handed out."""
    return bool(url) and str(url).split(":", 1)[0].strip().lower() in LINK_SCHEMES and ":" in str(url)


def deep_link(video: Video, moment: float | None) -> str:
    """``watch?v=ID&t=123s`` for YouTube, ``file:///path#t=123`` for files, no fragment without a time."""
    url = video.url if is_link(video.url) else None
    base = url or (youtube_watch_url(video.video_id) if video.kind == "youtube" else video.source)
    if moment is None:
        return base
    second = max(0, int(moment))
    if video.kind == "youtube":
        return f"{base}{'&' if '?' in base else '?'}t={second}s"
    return f"{base.split('#', 1)[0]}#t={second}"
