"""atlas ingest: any mix of transcript files and folders; progress bars; a summary; exit != 0 on failures."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from atlas.cli.app import app
from atlas.cli.common import EmbedderOpt, JsonOpt, LibraryOpt, err, iso_date, open_library, out
from atlas.errors import SourceError, UserInputError
from atlas.library import IngestReport, ItemOutcome
from atlas.sources.base import SourceOptions


class _Bars:
    """Rich progress: one overall bar plus the current item's stage."""

    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("ingest", total=total, stage="")

    def item_started(self, target: str) -> None:
        self._progress.update(self._task, description=_short(target), stage="read")

    def stage(self, target: str, stage: str) -> None:
        self._progress.update(self._task, stage=stage)

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None:
        shown = f"{stage} {done:.0f}/{total:.0f}" if total else f"{stage} {done:.0f}"
        self._progress.update(self._task, stage=shown)

    def item_finished(self, outcome: ItemOutcome) -> None:
        self._progress.advance(self._task)


def _short(target: str, width: int = 40) -> str:
    return target if len(target) <= width else "…" + target[-(width - 1) :]


@app.command()
def ingest(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="YouTube video/playlist/channel URLs, media files, transcript files (.vtt .srt .json .txt) "
            "or folders."
        ),
    ],
    title: Annotated[str | None, typer.Option("--title", help="Title (one target only).")] = None,
    video_id: Annotated[str | None, typer.Option("--id", help="Video id (one target only).")] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Page or media URL the transcript belongs to.")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Channel / author name.")] = None,
    published: Annotated[str | None, typer.Option("--date", help="Publication date YYYY-MM-DD.")] = None,
    asr: Annotated[
        str,
        typer.Option("--asr", help="Whisper model for media without captions: tiny.en, base, or a hub name."),
    ] = "tiny.en",
    force_asr: Annotated[
        bool, typer.Option("--force-asr", help="Transcribe even when captions or subtitles exist.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Playlists/channels: only videos published on/after YYYY-MM-DD."),
    ] = None,
    max_items: Annotated[
        int | None, typer.Option("--max", min=1, help="Playlists/channels: at most this many videos.")
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Re-fetch videos the library already holds instead of skipping.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    as_json: JsonOpt = False,
    library: LibraryOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Add transcripts to the library. Re-ingesting unchanged content is a no-op; changed content replaces."""
    if (title or video_id) and len(targets) > 1:
        raise UserInputError("--title/--id name one video", hint="pass a single file with them, or drop them")
    options = SourceOptions(
        title=title,
        video_id=video_id,
        url=url,
        channel=channel,
        published=iso_date(published, "--date"),
        asr_model=asr,
        force_asr=force_asr,
        since=iso_date(since, "--since"),
        max_items=max_items,
        refresh=refresh,
    )
    with open_library(library, embedder, create=True) as lib:
        if quiet or as_json or not err.is_terminal:
            report = lib.ingest(targets, options)
        else:
            columns = (
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[dim]{task.fields[stage]}"),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=err, transient=True) as progress:
                report = lib.ingest(targets, options, observer=_Bars(progress, len(targets)))
    if as_json:
        sys.stdout.write(json.dumps([asdict(o) for o in report.outcomes]) + "\n")
    elif not quiet:
        _summary(report)
    if report.failed:
        for o in report.failed:
            err.print(f"[red]error:[/] {o.message}")
        raise typer.Exit(SourceError.exit_code)


def _summary(report: IngestReport) -> None:
    table = Table(title="Ingest summary", show_edge=False)
    for col in ("status", "video id", "title", "windows", "source"):
        table.add_column(col)
    colours = {"added": "green", "replaced": "cyan", "unchanged": "dim", "skipped": "dim", "failed": "red"}
    for o in report.outcomes:
        table.add_row(
            f"[{colours[o.status]}]{o.status}[/]",
            o.video_id or "",
            o.title or "",
            str(o.windows or ""),
            o.target,
        )
    out.print(table)
    counts = ", ".join(
        f"{report.count(s)} {s}" for s in ("added", "replaced", "unchanged", "skipped", "failed")
    )
    out.print(counts)
