"""Checks on what a user asks to ingest, shared by the CLI, the HTTP API and the Python API (the Library runs
them before any work, so every face refuses the same things with the same one-line message)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from atlas.errors import UserInputError
from atlas.ids import check_video_id
from atlas.models import IngestOptions

WEB_SCHEMES = ("http", "https")
# An http(s) URL with a host, no spaces or control characters inside (blanks around it are stripped). One
# pattern for the check below and for the API document (schemas.py), so a client or a fuzzer reading the
# document accepts and refuses exactly what the server does.
WEB_URL_PATTERN = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#\x00-\x1f\x7f-\x9f][^\s\x00-\x1f\x7f-\x9f]*\s*$"
_WEB_URL = re.compile(WEB_URL_PATTERN)
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
    if not _WEB_URL.fullmatch(url):
        shown = url if len(url) <= 80 else url[:77] + "..."
        raise UserInputError(f"{flag} {shown!r} is not an http(s) URL", hint=_URL_HINT)
    return url.strip()


def check_options(options: IngestOptions, *, id_flag: str = "--id", url_flag: str = "--url") -> None:
    """Refuse a bad ``--id`` or ``--url`` (API: ``video_id``, ``url``) before anything is read."""
    if options.video_id is not None:
        check_video_id(options.video_id, flag=id_flag)
    if options.url is not None:
        check_web_url(options.url, flag=url_flag)
