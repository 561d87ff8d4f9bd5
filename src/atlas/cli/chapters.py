"""atlas chapters: a video cut into topic segments, with start times and short titles."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Literal

import typer
from rich.table import Table

from atlas.chapters.service import DEFAULT_SEGMENTER, ChapterOptions, SegmenterName
from atlas.cli.app import app
from atlas.cli.common import JsonOpt, LibraryOpt, StoreOpt, open_library, out
from atlas.search.links import format_moment

TitlesOpt = Literal["keyphrase", "llm"]


@app.command()
def chapters(
    video_id: Annotated[str, typer.Argument(help="A video id from atlas list.")],
    titles: Annotated[
        TitlesOpt,
        typer.Option(
            "--titles",
            help="keyphrase: the chapter's most distinctive phrase; llm: the local model writes one.",
        ),
    ] = "keyphrase",
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="A .gguf model for --titles llm (default: the bundled one).", show_default=False
        ),
    ] = None,
    segmenter: Annotated[
        SegmenterName, typer.Option("--segmenter", help="How topic turns are found.")
    ] = DEFAULT_SEGMENTER,
    min_seconds: Annotated[
        float | None,
        typer.Option(
            "--min",
            help="Shortest chapter in seconds (default 60; ~150 words when untimed).",
            show_default=False,
        ),
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max", help="Longest chapter in seconds (default 900).", show_default=False),
    ] = None,
    as_json: JsonOpt = False,
    library: LibraryOpt = None,
    store: StoreOpt = None,
) -> None:
    """Cut a video into chapters where its topic turns, each with a start time and a short title."""
    options = ChapterOptions(
        titles=titles, model=model, segmenter=segmenter, min_seconds=min_seconds, max_seconds=max_seconds
    )
    with open_library(library, store=store) as lib:
        result = lib.chapters(video_id, options)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
        return
    video = result.video
    count = len(result.chapters)
    out.print(f"[bold]{video.title}[/]  ({video.video_id}): {count} chapter{'' if count == 1 else 's'}")
    table = Table(show_edge=False, show_header=True)
    table.add_column("#", justify="right")
    table.add_column("start" if video.timed else "word", justify="right")
    table.add_column("title")
    table.add_column("opens with", overflow="fold")
    for chapter in result.chapters:
        where = format_moment(chapter.start) if chapter.start is not None else f"{chapter.position:,}"
        table.add_row(str(chapter.index + 1), where, chapter.title, chapter.preview)
    out.print(table)
    if not video.timed:
        out.print("[dim]untimed transcript: chapters are placed by word position[/]")
