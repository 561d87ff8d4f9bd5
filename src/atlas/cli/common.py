"""Options every command shares, and the resolution of settings at the edge."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from atlas.config import resolve_settings
from atlas.errors import UserInputError
from atlas.library import Library
from atlas.models import SearchFilters

LibraryOpt = Annotated[
    Path | None,
    typer.Option(
        "--library",
        "-L",
        help="Library directory (else $ATLAS_LIBRARY, else the per-user data directory).",
        show_default=False,
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Keep the index in this PostgreSQL database (postgresql://user@host:5432/db, pgvector >= 0.6) "
        "instead of the embedded SQLite library (else $ATLAS_STORE). --library still holds the local "
        "transcript cache.",
        show_default=False,
    ),
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        help="Embedding model for a new library (default: the library's, or all-MiniLM-L6-v2; bundled too: "
        "all-mpnet-base-v2, stronger and slower).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
# The filters `atlas search` and `atlas ask` share (build them with search_filters below).
VideoOpt = Annotated[list[str] | None, typer.Option("--video", help="Only this video id (repeatable).")]
ChannelOpt = Annotated[list[str] | None, typer.Option("--channel", help="Only this channel (repeatable).")]
AfterOpt = Annotated[str | None, typer.Option("--after", help="Published on or after YYYY-MM-DD.")]
BeforeOpt = Annotated[str | None, typer.Option("--before", help="Published on or before YYYY-MM-DD.")]
SpeakerOpt = Annotated[
    str | None, typer.Option("--speaker", help="Only moments said by this speaker (exact name, any case).")
]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def open_library(
    library: Path | None, embedder: str | None = None, *, create: bool = False, store: str | None = None
) -> Library:
    return Library.open(resolve_settings(library=library, embedder=embedder, store=store), create=create)


def iso_date(value: str | None, flag: str) -> str | None:
    """A user's date flag as ISO YYYY-MM-DD, or a one-line error naming the flag."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise UserInputError(
            f"{flag} {value!r} is not a date", hint=f"write it as YYYY-MM-DD, e.g. {flag} 2024-01-31"
        ) from None


def search_filters(
    video: list[str] | None,
    channel: list[str] | None,
    after: str | None,
    before: str | None,
    speaker: str | None = None,
) -> SearchFilters:
    return SearchFilters.of(video, channel, iso_date(after, "--after"), iso_date(before, "--before"), speaker)
