"""atlas search: a table of moments, or the --json contract (one object per query, one per line)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from atlas.cli.app import app
from atlas.cli.common import (
    AfterOpt,
    BeforeOpt,
    ChannelOpt,
    EmbedderOpt,
    JsonOpt,
    LibraryOpt,
    SpeakerOpt,
    StoreOpt,
    VideoOpt,
    err,
    open_library,
    out,
    search_filters,
)
from atlas.cli.terminal import as_text, shown
from atlas.library import Library
from atlas.limits import MAX_SEARCH_LIMIT
from atlas.models import Hit, SearchFilters
from atlas.search.engine import Mode
from atlas.search.links import format_moment


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='What to find. "-" reads one query per line from stdin.')],
    limit: Annotated[
        int, typer.Option("--limit", "-n", help=f"Hits per query (at most {MAX_SEARCH_LIMIT}).")
    ] = 10,
    video: VideoOpt = None,
    channel: ChannelOpt = None,
    after: AfterOpt = None,
    before: BeforeOpt = None,
    speaker: SpeakerOpt = None,
    mode: Annotated[Mode, typer.Option("--mode", help="hybrid, keyword or vector.")] = "hybrid",
    as_json: JsonOpt = False,
    library: LibraryOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Search the library for a moment, by meaning and by keywords."""
    filters = search_filters(video, channel, after, before, speaker)
    queries = [line.strip() for line in sys.stdin if line.strip()] if query == "-" else [query]
    with open_library(library, embedder, store=store) as lib:
        require_videos(lib, filters)
        if not lib.list_videos():
            err.print("The library is empty: ingest something first, e.g. atlas ingest talk.vtt")
        for q in queries:
            hits = lib.search(q, limit=limit, filters=filters, mode=mode)
            if as_json:
                sys.stdout.write(json.dumps({"query": q, "hits": [h.to_json() for h in hits]}) + "\n")
                sys.stdout.flush()
            else:
                _print_table(q, hits)


def require_videos(lib: Library, filters: SearchFilters) -> None:
    """An unknown ``--video`` id is an error (exit 4), not an empty result: a typo must not read as "this
    video never mentions it"."""
    for video_id in filters.video_ids:
        lib.get_video(video_id)


def _highlight(snippet: str, terms: tuple[str, ...]) -> Text:
    text = as_text(snippet)
    for term in terms:
        text.highlight_words([term], style="bold yellow", case_sensitive=False)
    return text


def _print_table(query: str, hits: list[Hit]) -> None:
    if not hits:
        out.print(f"No moments found for [bold]{shown(query)}[/].")
        return
    table = Table(title=as_text(f"Moments for “{query}”"), show_lines=True, expand=True)
    table.add_column("#", justify="right", width=3)
    table.add_column("title", ratio=2, overflow="fold")
    table.add_column("moment", width=9)
    table.add_column("snippet", ratio=5)
    table.add_column("link", ratio=3, overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        moment = format_moment(hit.moment) if hit.video.timed else "untimed"
        snippet = _highlight(hit.snippet, hit.matched_terms)
        if hit.speaker:  # who says it, set apart from the words (it is not part of the transcript text)
            snippet = Text.assemble((f"{hit.speaker}: ", "bold cyan"), snippet)
        row = (as_text(hit.video.title), moment, snippet, as_text(hit.url))
        table.add_row(str(rank), *row)
    out.print(table)
