"""Checks on what a user asks to ingest, shared by the CLI, the HTTP API and the Python API (the Library runs
them before any work, so every face refuses the same things with the same one-line message)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from atlas.errors import UserInputError
from atlas.ids import check_video_id
from atlas.sources.base import SourceOptions
from atlas.textsafe import has_controls

WEB_SCHEMES = ("http", "https")
_URL_HINT = "give an http(s) address of the page or media, e.g. --url https://example.org/talk"


def check_targets(targets: Iterable[str]) -> list[str]:
    """The targets as given, or an error for an empty one (``Path("")`` is the current folder: ``atlas
    ingest ""`` from a script with an unset variable must not ingest whatever folder it runs in)."""
    checked = list(targets)
    for target in checked:
        if not target.strip():
            raise UserInputError(
                "an ingest target is empty", hint="give a URL, a file or a folder (use . for this folder)"
            )
        if "\x00" in target:
            raise UserInputError("an ingest target holds a NUL byte", hint="check the path or URL")
    return checked


def check_web_url(url: str, *, flag: str = "--url") -> str:
    """An ``http(s)`` URL with a host, as given; anything else (``javascript:``, ``data:``, ``file:``) is
    refused: a stored URL becomes a link a client follows. Atlas makes ``file:`` URLs for local media
    itself; a user never needs to give one."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc or has_controls(url) or " " in url.strip():
        shown = url if len(url) <= 80 else url[:77] + "..."
        raise UserInputError(f"{flag} {shown!r} is not an http(s) URL", hint=_URL_HINT)
    return url.strip()


def check_options(options: SourceOptions, *, id_flag: str = "--id", url_flag: str = "--url") -> None:
    """Refuse a bad ``--id`` or ``--url`` (API: ``video_id``, ``url``) before anything is read."""
    if options.video_id is not None:
        check_video_id(options.video_id, flag=id_flag)
    if options.url is not None:
        check_web_url(options.url, flag=url_flag)
