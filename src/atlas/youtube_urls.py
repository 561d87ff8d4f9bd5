"""YouTube's addresses in one place: what a video id looks like, a video's watch URL, and what a URL names
(one video, a playlist, or a channel's uploads), in canonical form. Sources read URLs with it, search links
to videos with it, the views embed players with it.

Canonical URLs matter twice: they are what yt-dlp is asked for (one spelling per thing, so recordings and
follows match), and they are the identity of a followed playlist/channel in ``follows.json``.

- ``watch?v=ID``, ``youtu.be/ID``, ``/shorts/ID``, ``/live/ID``, ``/embed/ID`` -> the video
  ``https://www.youtube.com/watch?v=ID``. A ``watch`` URL that also carries ``list=`` is the video alone: the
  list is often an endless "mix" the user never meant to ingest.
- ``/playlist?list=ID`` (or ``watch?list=ID`` without a video) -> ``https://www.youtube.com/playlist?list=ID``.
- ``/@handle``, ``/channel/UC…``, ``/c/name``, ``/user/name`` -> that channel's ``/videos`` tab (newest
  first). Without a tab yt-dlp would list every tab (videos, shorts, streams) one after another, which is
  neither date-ordered nor what "the channel's videos" means; ``/streams`` and ``/shorts`` are kept when
  asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from atlas.errors import SourceError

# A YouTube video id: 11 characters of URL-safe base64. A pattern (not compiled) so that other patterns can
# embed it, such as yt-dlp's "Title [ID].en.vtt" file names.
YOUTUBE_ID = r"[A-Za-z0-9_-]{11}"

TargetKind = Literal["video", "playlist", "channel"]

_HOSTS = frozenset({"youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be", "youtube-nocookie.com"})
_PLAYLIST_ID = re.compile(r"[A-Za-z0-9_-]{10,64}")
_CHANNEL_PATH = re.compile(
    r"/(?P<base>@[^/]+|channel/UC[A-Za-z0-9_-]{22}|c/[^/]+|user/[^/]+)(?:/(?P<tab>[a-z]+))?/?"
)
_VIDEO_TABS = frozenset({"videos", "streams", "shorts"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_FORMS = (
    "use https://www.youtube.com/watch?v=ID, https://www.youtube.com/playlist?list=ID "
    "or https://www.youtube.com/@channel"
)


def is_youtube_id(text: str) -> bool:
    return re.fullmatch(YOUTUBE_ID, text) is not None


def youtube_watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def youtube_id_from_url(url: str) -> str | None:
    """The video id of a YouTube watch / share / shorts / live / embed URL, else ``None``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.").removeprefix("music.")
    candidate: str | None = None
    if host == "youtu.be":
        candidate = parts.path.strip("/").split("/")[0]
    elif host in ("youtube.com", "youtube-nocookie.com"):
        if parts.path == "/watch":
            candidate = (parse_qs(parts.query).get("v") or [""])[0]
        elif re.fullmatch(r"/(?:shorts|live|embed|v)/[^/]+/?", parts.path):
            candidate = parts.path.strip("/").split("/")[1]
    return candidate if candidate and is_youtube_id(candidate) else None


@dataclass(frozen=True, slots=True)
class YouTubeTarget:
    kind: TargetKind
    id: str  # video id, playlist id, or the channel's path (@handle, channel/UC…)
    url: str  # canonical URL


def looks_like_url(target: str) -> bool:
    """A URL (any scheme) or a bare YouTube address such as ``youtu.be/ID``; never a local path."""
    return bool(_SCHEME.match(target)) or _host(f"https://{target}") in _HOSTS


def _host(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host.removeprefix("www.")


def parse_youtube_url(target: str) -> YouTubeTarget:
    """The video, playlist or channel a URL names; ``SourceError`` (one line) for anything else."""
    url = target if _SCHEME.match(target) else f"https://{target}"
    # The host first: _host reads a URL urlsplit refuses ("https://x[y", a bad IPv6 literal) as no host,
    # where urlsplit itself raises ValueError (one item failing "unexpectedly", with a traceback).
    if _host(url) not in _HOSTS or url.split(":", 1)[0].lower() not in ("http", "https"):
        raise SourceError(
            target,
            "unsupported URL: Atlas ingests YouTube videos, playlists and channels",
            hint="for other media, download it and ingest the file or its transcript",
        )
    video_id = youtube_id_from_url(url)
    if video_id is not None:
        return YouTubeTarget("video", video_id, youtube_watch_url(video_id))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    path = parts.path.rstrip("/") or "/"
    list_id = (query.get("list") or [""])[0]
    if path in ("/playlist", "/watch") and list_id:
        if not _PLAYLIST_ID.fullmatch(list_id):
            raise SourceError(target, f"'{list_id}' is not a YouTube playlist id", hint=_FORMS)
        return YouTubeTarget("playlist", list_id, f"https://www.youtube.com/playlist?list={list_id}")
    channel = _CHANNEL_PATH.fullmatch(parts.path) if _host(url) != "youtu.be" else None
    if channel is not None:
        tab = channel["tab"] or "videos"
        if tab == "featured":
            tab = "videos"
        if tab not in _VIDEO_TABS:
            raise SourceError(
                target,
                f"the channel's '{tab}' tab does not list videos",
                hint="ingest the channel itself (its videos), or one playlist URL",
            )
        base = channel["base"]
        return YouTubeTarget("channel", base, f"https://www.youtube.com/{base}/{tab}")
    if path in ("/watch", "/shorts", "/live", "/embed") or _host(url) == "youtu.be":
        raise SourceError(target, "this YouTube URL has no valid video id (11 characters)", hint=_FORMS)
    raise SourceError(target, "not a YouTube video, playlist or channel URL", hint=_FORMS)
