"""atlas ingest: any mix of transcript files and folders; progress bars; a summary; exit != 0 on failures."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from typing import Annotated

import typer
from rich.table import Table

from atlas.cli.app import app
from atlas.cli.common import EmbedderOpt, JsonOpt, LibraryOpt, StoreOpt, err, iso_date, open_library, out
from atlas.cli.progress import ProgressMode, with_progress
from atlas.cli.terminal import as_text, shown
from atlas.config import ray_address_alone, resolve_ray_address
from atlas.errors import AtlasError, DiskFullError, SourceError, UserInputError, require
from atlas.ingest_report import STATUSES, IngestReport, ItemOutcome, Status
from atlas.library import IngestObserver, Library
from atlas.models import IngestOptions
from atlas.sources.registry import all_sources, expand_targets
from atlas.sources.validate import check_options, check_targets
from atlas.views import outcome_json

RAY_FLAG = "--ray"
# What a Ray address looks like: auto, local, or [ray://]HOST:PORT (HOST a name, IPv4 or a bracketed IPv6). A
# file name or a URL never does.
_RAY_ADDRESS = re.compile(r"(auto|local|(ray://)?([\w.\-]+|\[[0-9A-Fa-f:.]+\]):\d+)")


def with_ray_default(argv: list[str]) -> list[str]:
    """``atlas ingest --ray [ADDRESS]``: Typer options cannot take an optional value, so the command line gets
    the default address ($ATLAS_RAY_ADDRESS, else auto) after a ``--ray`` that is last, or followed by an
    option or by anything that is not a Ray address (a file, a URL: ``--ray talk.mp4`` is the flag, then a
    target)."""
    if "ingest" not in argv[:1]:
        return argv
    fixed = list(argv)
    for i, token in enumerate(fixed):
        if token == "--":
            break  # the rest are targets, even one named --ray
        if token != RAY_FLAG:
            continue
        following = fixed[i + 1] if i + 1 < len(fixed) else None
        if following is None or following.startswith("-") or not _RAY_ADDRESS.fullmatch(following):
            fixed.insert(i + 1, ray_address_alone())
        break
    return fixed


# Options that `atlas ingest` and `atlas update` share. Each long name is the option's name in Python
# (``IngestOptions``) and in the HTTP API, dashed; the short spellings before them stay as aliases.
AsrOpt = Annotated[
    str | None,
    typer.Option(
        "--asr-model",
        "--asr",
        help="Whisper model for media without trusted captions: tiny.en, base, or a hub name. Default: "
        "tiny.en, or base (multilingual) for a YouTube video in another language.",
        show_default=False,
    ),
]
ForceAsrOpt = Annotated[
    bool, typer.Option("--force-asr", help="Transcribe even when captions or subtitles exist.")
]
BeamOpt = Annotated[
    int | None,
    typer.Option(
        "--beam",
        min=1,
        max=10,
        help="Whisper beam width (default 3). --beam 1 transcribes ~1.25x faster for ~3 more words wrong in "
        "100 (benchmarks/README.md).",
        show_default=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
ProgressOpt = Annotated[
    ProgressMode,
    typer.Option(
        "--progress",
        help="auto: bars on a terminal, else plain lines on stderr (one every few seconds); rich; plain; off",
    ),
]


def print_warnings(outcomes: Iterable[ItemOutcome]) -> None:
    """One line per warning on stderr, naming the file: it went in, but not quite as written."""
    for outcome in outcomes:
        for warning in outcome.warnings:
            err.print(f"[yellow]warning:[/] {shown(outcome.target)}: {shown(warning)}", soft_wrap=True)


def exit_if_failed(failed: Iterable[ItemOutcome], stopped: AtlasError | None = None) -> None:
    """One line per failed item on stderr (however long: a path like "Talk [id].mp4" is not markup), then
    the source error's exit code, or the exit code of what stopped the batch (a full disk)."""
    failed = list(failed)
    for outcome in failed:
        err.print(f"[red]error:[/] {shown(outcome.message)}", soft_wrap=True)
    if stopped is not None:
        if not any(o.message == stopped.one_line() for o in failed):
            err.print(f"[red]error:[/] {shown(stopped.one_line())}", soft_wrap=True)
        err.print("the ingest stopped there; run the same command again once fixed to add the rest")
        raise typer.Exit(stopped.exit_code)
    if failed:
        raise typer.Exit(SourceError.exit_code)


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
    video_id: Annotated[
        str | None, typer.Option("--video-id", "--id", help="Video id (one target only).")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Page or media URL the transcript belongs to.")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Channel / author name.")] = None,
    published: Annotated[
        str | None, typer.Option("--published", "--date", help="Publication date YYYY-MM-DD.")
    ] = None,
    asr_model: AsrOpt = None,
    force_asr: ForceAsrOpt = False,
    beam: BeamOpt = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Playlists/channels: only videos published on/after YYYY-MM-DD."),
    ] = None,
    max_items: Annotated[
        int | None,
        typer.Option("--max-items", "--max", min=1, help="Playlists/channels: at most this many videos."),
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Re-fetch videos the library already holds instead of skipping.")
    ] = False,
    quiet: QuietOpt = False,
    progress: ProgressOpt = ProgressMode.auto,
    as_json: JsonOpt = False,
    library: LibraryOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
    ray: Annotated[
        str | None,
        typer.Option(
            RAY_FLAG,
            metavar="[ADDRESS]",
            help="Transcribe and embed on a Ray cluster: auto (the one `ray start` runs here; --ray alone "
            "means auto), local (start one in this process) or HOST:PORT of its head (else "
            "$ATLAS_RAY_ADDRESS). Needs atlas-search[cluster].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add YouTube videos, playlists, channels, media files and transcripts. Unchanged content is skipped."""
    if (title or video_id) and len(targets) > 1:
        raise UserInputError("--title/--id name one video", hint="pass a single file with them, or drop them")
    check_targets(targets)
    options = IngestOptions(
        title=title,
        video_id=video_id,
        url=url,
        channel=channel,
        published=iso_date(published, "--date"),
        asr_model=asr_model,
        force_asr=force_asr,
        beam=beam,
        since=iso_date(since, "--since"),
        max_items=max_items,
        refresh=refresh,
    )
    check_options(options)  # before the library is created or a folder walked
    ray_address = resolve_ray_address(ray)
    if ray_address is not None:
        require("ray", extra="cluster", purpose="atlas ingest --ray")  # one line, before any work
    report: IngestReport | None = None
    try:
        with open_library(library, embedder, create=True, store=store) as lib:
            report = with_progress(
                lambda observer: _ingest(lib, targets, options, observer, ray_address),
                lambda: sum(1 for _ in expand_targets(targets, all_sources())),  # folders count their files
                quiet=quiet,
                as_json=as_json,
                progress=progress,
            )
    except DiskFullError as exc:
        if report is None:
            raise
        report.stopped = report.stopped or exc  # the vector sidecar could not be saved at close
    if as_json:
        sys.stdout.write(json.dumps([outcome_json(o) for o in report.outcomes]) + "\n")
    elif not quiet:
        _summary(report)
    print_warnings(report.outcomes)
    exit_if_failed(report.failed, report.stopped)


def _ingest(
    lib: Library,
    targets: list[str],
    options: IngestOptions,
    observer: IngestObserver | None,
    ray_address: str | None,
) -> IngestReport:
    if ray_address is None:
        return lib.ingest(targets, options, observer=observer)
    from atlas.cluster import ingest_on_ray

    return ingest_on_ray(lib, targets, options, observer, address=ray_address)


def _summary(report: IngestReport) -> None:
    table = Table(title="Ingest summary", show_edge=False)
    for col in ("status", "video id", "title", "windows", "source"):
        table.add_column(col)
    colours: dict[Status, str] = {"added": "green", "replaced": "cyan", "failed": "red"}
    for o in report.outcomes:
        cells = (o.video_id, o.title, str(o.windows or ""), o.target)
        colour = colours.get(o.status, "dim")
        table.add_row(f"[{colour}]{o.status}[/]", *(as_text(cell) for cell in cells))
    out.print(table)
    out.print(", ".join(f"{report.count(s)} {s}" for s in STATUSES))
