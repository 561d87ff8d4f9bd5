"""yt-dlp's exceptions, turned into one line a user can act on, and sorted into transient or not.

yt-dlp wraps what went wrong several layers deep: ``DownloadError`` (from ``YoutubeDL.report_error``) holds
the ``ExtractorError`` in ``exc_info``, which holds the network error in ``cause``. ``describe`` walks that
chain. Transient means worth retrying: the connection failed or timed out, or the server said 429 / 5xx.
A private, removed or age-restricted video will not change by retrying, nor will a block on this network.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from dataclasses import dataclass

# (phrases in yt-dlp's message, what the user reads, the fix). Checked in order; phrases are lower case.
_KNOWN: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("private video",), "private video", "only its owner can watch it; ask for a public or unlisted link"),
    (
        ("confirm your age", "age-restricted", "inappropriate for some users"),
        "age-restricted video: YouTube shows it only to signed-in adults",
        "Atlas does not sign in; download its captions or audio yourself and ingest the file",
    ),
    (
        ("members-only", "join this channel", "available to this channel's members"),
        "members-only video",
        "Atlas does not sign in; download it yourself and ingest the file",
    ),
    (
        ("not a bot", "captcha"),
        "YouTube refused the request from this network (bot check)",
        "try again later or from another network",
    ),
    (
        ("try again later", "rate-limited"),
        "YouTube rate-limited this session",
        "wait about an hour, then run the same command again; finished videos are kept",
    ),
    (
        ("premieres in", "live event will begin", "this live event", "is upcoming"),
        "not out yet (an upcoming premiere or live stream)",
        "ingest it after it has aired",
    ),
    (
        ("not made this video available in your country", "geo restricted", "geo-restricted"),
        "not available in this country",
        "ingest it from where it is available, or ingest its captions file",
    ),
    (
        ("playlist does not exist", "playlist is private", "this playlist type is unviewable"),
        "playlist not found (private, deleted, or a wrong id)",
        "check the URL; private playlists cannot be read",
    ),
    (
        ("channel does not exist", "this channel is not available", "does not have a videos tab"),
        "channel not found, or it has no videos",
        "check the URL (e.g. https://www.youtube.com/@name)",
    ),
    (
        (
            "video unavailable",
            "has been removed",
            "no longer available",
            "video is unavailable",
            "does not exist",
            "has been terminated",
            "incomplete youtube id",
        ),
        "video unavailable (removed, or it never existed)",
        "check the URL",
    ),
    (("unsupported url",), "yt-dlp cannot read this URL", "check the URL"),
)
_PREFIX = re.compile(r"^(?:ERROR:\s*)?(?:\[[\w:]+\]\s*(?:[\w-]{1,64}:\s+)?)?")  # "ERROR: [youtube] ID: "
_TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    hint: str | None
    transient: bool
    status: int | None = None  # the HTTP status, when a server answered with an error


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps, each once."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner: list[object] = [
            getattr(current, "cause", None),
            (getattr(current, "exc_info", None) or (None, None))[1],
            current.__cause__,
            current.__context__,
        ]
        stack.extend(e for e in reversed(inner) if isinstance(e, BaseException))


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) and 100 <= status < 600 else None


def _is_network(exc: BaseException) -> bool:
    from yt_dlp.networking.exceptions import TransportError

    return isinstance(exc, TransportError | ConnectionError | TimeoutError | http.client.IncompleteRead)


def _clean(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    first = _PREFIX.sub("", first, count=1).strip()
    first = re.sub(r"\s*\(caused by .*$", "", first)
    return first.removesuffix(".") or "yt-dlp failed without a message"


def describe(exc: BaseException) -> Problem:
    """One line for what went wrong in yt-dlp, and whether trying again may help."""
    chain = list(_chain(exc))
    messages = [str(getattr(e, "orig_msg", "") or e) for e in chain]
    text = " ".join(messages).lower()
    for phrases, known_message, known_hint in _KNOWN:
        if any(phrase in text for phrase in phrases):
            return Problem(known_message, known_hint, transient=False)
    status = next((s for e in chain if (s := _status(e)) is not None), None)
    if status is not None:
        transient = status in _TRANSIENT_STATUSES
        hint = "try again later" if transient else None
        message = f"HTTP error {status} from YouTube"
        if status == 403:
            hint = "YouTube refused this network; try again later or from another network"
        elif status in (404, 410):
            message, hint = f"not found on YouTube (HTTP {status})", "check the URL"
        return Problem(message, hint, transient, status)
    if any(_is_network(e) for e in chain):
        reason = _clean(next(m for e, m in zip(chain, messages, strict=True) if _is_network(e)))
        return Problem(
            f"network error ({reason})",
            "check the internet connection and run the same command again; finished videos are kept",
            transient=True,
        )
    return Problem(_clean(messages[0]), None, transient=False)
