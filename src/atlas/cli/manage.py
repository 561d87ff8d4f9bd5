"""atlas list / show / remove."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from atlas.cli.app import app
from atlas.cli.common import JsonOpt, LibraryOpt, StoreOpt, open_library, out
from atlas.cli.terminal import as_text, plain, shown
from atlas.search.links import format_moment
from atlas.views import record_json, video_json


@app.command("list")
def list_videos(as_json: JsonOpt = False, library: LibraryOpt = None, store: StoreOpt = None) -> None:
    """List the videos in the library."""
    with open_library(library, store=store) as lib:
        videos = lib.list_videos()
    if as_json:
        sys.stdout.write(json.dumps([video_json(v) for v in videos]) + "\n")  # as GET /api/videos
        return
    table = Table(title=f"{len(videos)} videos", show_edge=False)
    for col in ("id", "title", "kind", "length", "transcript", "channel", "published"):
        table.add_column(col)
    for v in videos:
        length = format_moment(v.duration) if v.duration is not None else "untimed"
        cells = (v.video_id, v.title, v.kind, length, v.transcript_origin, v.channel, v.published)
        table.add_row(*(as_text(cell) for cell in cells))
    out.print(table)


@app.command()
def show(
    video_id: Annotated[str, typer.Argument(help="A video id from atlas list.")],
    as_json: JsonOpt = False,
    library: LibraryOpt = None,
    store: StoreOpt = None,
) -> None:
    """Show one video's details and its transcript with times."""
    with open_library(library, store=store) as lib:
        record = lib.get_record(video_id)
    video = record.video
    if as_json:
        sys.stdout.write(json.dumps(record_json(record)) + "\n")  # as GET /api/videos/{id}
        return
    out.print(f"[bold]{shown(video.title)}[/]  ({shown(video.video_id)})")
    for label, value in (
        ("source", video.source),
        ("url", video.url),
        ("kind", video.kind),
        ("transcript", video.transcript_origin),
        ("channel", video.channel),
        ("published", video.published),
        ("windows", len(record.windows)),
    ):
        if value not in (None, ""):
            out.print(f"  {label:<11}{shown(str(value))}")
    out.print()
    for seg in record.transcript.segments:
        stamp = format_moment(seg.start) if seg.start is not None else ""
        out.print(f"[dim]{stamp:>8}[/]  {shown(seg.text)}")


@app.command()
def remove(
    video_id: Annotated[str, typer.Argument(help="A video id from atlas list.")],
    library: LibraryOpt = None,
    store: StoreOpt = None,
) -> None:
    """Remove a video and everything indexed for it."""
    with open_library(library, store=store) as lib:
        title = lib.get_video(video_id).title
        lib.remove(video_id)
    out.print(plain(f"removed {video_id} ({title})"), markup=False)
