"""atlas ingest: any mix of transcript files and folders; progress bars; a summary; exit != 0 on failures."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from atlas.cli.app import app
from atlas.cli.common import EmbedderOpt, JsonOpt, LibraryOpt, StoreOpt, err, iso_date, open_library, out
from atlas.cli.progress_lines import ProgressLines, cluster_line
from atlas.cli.terminal import as_text, shown
from atlas.config import resolve_ray_address
from atlas.errors import AtlasError, DiskFullError, SourceError, UserInputError, require
from atlas.library import IngestObserver, IngestReport, ItemOutcome, Library
from atlas.search.links import format_moment
from atlas.sources.base import SourceOptions
from atlas.sources.registry import all_sources, expand_targets
from atlas.sources.validate import check_options, check_targets

if TYPE_CHECKING:
    from atlas.cluster.ray_ingest import ClusterProgress

# Options that `atlas ingest` and `atlas update` share.
AsrOpt = Annotated[
    str | None,
    typer.Option(
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


class ProgressMode(StrEnum):
    auto = "auto"
    rich = "rich"
    plain = "plain"
    off = "off"


ProgressOpt = Annotated[
    ProgressMode,
    typer.Option(
        "--progress",
        help="auto: bars on a terminal, else plain lines on stderr (one every few seconds); rich; plain; off",
    ),
]

T = TypeVar("T")


class _Remaining(ProgressColumn):
    """ETA for measured stages only (transcribe, download); chunk/embed/index have no known length. The rate
    is the stage's average so far (rich's own estimate needs several updates inside a 30 s window, and a
    Whisper chunk can take longer than that between updates)."""

    def render(self, task: Task) -> Text:
        if not (task.fields.get("measured") and task.total and task.completed > 0 and task.elapsed):
            return Text("")
        remaining = task.elapsed * max(0.0, task.total - task.completed) / task.completed
        return Text(f"ETA {format_moment(remaining)}", style="cyan")


class IngestBars:
    """Rich progress: an overall bar over the targets, and a bar for the current item whose stage is
    download / transcribe (measured: bytes or audio seconds, with an ETA) or chunk / embed / index."""

    def __init__(self, progress: Progress, total: int) -> None:
        self._progress = progress
        self._total = total
        self._started = 0
        self._overall = progress.add_task(self._headline(), total=total, detail="", measured=False)
        self._item = progress.add_task("", total=None, detail="", measured=False, visible=False)
        self._stage = ""
        self._counts: dict[str, int] = {}

    def item_started(self, target: str) -> None:
        if self._started:
            self._progress.advance(self._overall)
        self._started += 1
        self._progress.update(self._overall, description=self._headline())
        self._show("read", description="  " + shown(_short(target)))  # "Talk [id].mp4" is not markup

    def stage(self, target: str, stage: str) -> None:
        self._show(stage)

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None:
        if stage != self._stage:  # a new stage restarts the item bar, so its ETA measures this stage only
            self._show(stage, total=total, measured=True)
        self._progress.update(self._item, completed=done, total=total, detail=_measure(stage, done, total))

    def item_finished(self, outcome: ItemOutcome) -> None:
        self._counts[outcome.status] = self._counts.get(outcome.status, 0) + 1
        summary = " · ".join(f"{n} {status}" for status, n in self._counts.items())
        self._progress.update(self._overall, detail=summary)

    def cluster(self, progress: ClusterProgress) -> None:
        """``--ray``: the overall bar counts finished items and says how the cluster is doing."""
        self._progress.update(
            self._overall, completed=progress.done, description="  " + cluster_line(progress)
        )

    def finish(self) -> None:
        self._progress.update(self._overall, completed=self._total)

    def _headline(self) -> str:
        return f"ingest {self._started}/{self._total}"

    def _show(
        self,
        stage: str,
        *,
        description: str | None = None,
        total: float | None = None,
        measured: bool = False,
    ) -> None:
        self._stage = stage
        self._progress.reset(
            self._item,
            total=total,
            completed=0,
            visible=True,
            description=description,
            detail=stage,
            measured=measured,
        )


def _measure(stage: str, done: float, total: float | None) -> str:
    if stage == "download":
        return (
            f"download {_megabytes(done)}/{_megabytes(total)} MB"
            if total
            else f"download {_megabytes(done)} MB"
        )
    if stage == "transcribe":  # audio seconds
        shown = f"{format_moment(done)}/{format_moment(total)}" if total else format_moment(done)
        return f"transcribe {shown} audio"
    return f"{stage} {done:.0f}/{total:.0f}" if total else f"{stage} {done:.0f}"


def _megabytes(count: float | None) -> str:
    return f"{(count or 0) / 1e6:.1f}"


def _short(target: str, width: int = 40) -> str:
    return target if len(target) <= width else "…" + target[-(width - 1) :]


def with_progress(
    work: Callable[[IngestObserver | None], T],
    planned: Callable[[], int],
    *,
    quiet: bool,
    as_json: bool,
    progress: ProgressMode = ProgressMode.auto,
) -> T:
    """``work`` run under an overall bar over ``planned()`` items and a bar for the current one (``rich``),
    with throttled plain lines on stderr instead (``plain``: progress_lines.py), or silently (``off``, -q).
    ``auto``: bars on a terminal, lines otherwise (a log, CI, a pipe, or stdout taken by --json)."""
    if quiet or progress is ProgressMode.off:
        return work(None)
    auto = progress is ProgressMode.auto
    if progress is ProgressMode.plain or (auto and (as_json or not err.is_terminal)):
        return work(ProgressLines(err, planned()))
    with progress_bars() as progress_display:
        bars = IngestBars(progress_display, planned())
        result = work(bars)
        bars.finish()
        return result


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


def progress_bars(console: Console = err) -> Progress:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("[dim]{task.fields[detail]}"),
        _Remaining(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console, transient=True)


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
    asr: AsrOpt = None,
    force_asr: ForceAsrOpt = False,
    beam: BeamOpt = None,
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
    quiet: QuietOpt = False,
    progress: ProgressOpt = ProgressMode.auto,
    as_json: JsonOpt = False,
    library: LibraryOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Transcribe and embed on a Ray cluster: auto (the one `ray start` runs here), local (start "
            "one in this process) or HOST:PORT of its head (else $ATLAS_RAY_ADDRESS). Needs "
            "atlas-search[cluster].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add YouTube videos, playlists, channels, media files and transcripts. Unchanged content is skipped."""
    if (title or video_id) and len(targets) > 1:
        raise UserInputError("--title/--id name one video", hint="pass a single file with them, or drop them")
    check_targets(targets)
    options = SourceOptions(
        title=title,
        video_id=video_id,
        url=url,
        channel=channel,
        published=iso_date(published, "--date"),
        asr_model=asr,
        force_asr=force_asr,
        asr_beam=beam,
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
        sys.stdout.write(json.dumps([asdict(o) for o in report.outcomes]) + "\n")
    elif not quiet:
        _summary(report)
    print_warnings(report.outcomes)
    exit_if_failed(report.failed, report.stopped)


def _ingest(
    lib: Library,
    targets: list[str],
    options: SourceOptions,
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
    colours = {"added": "green", "replaced": "cyan", "unchanged": "dim", "skipped": "dim", "failed": "red"}
    for o in report.outcomes:
        cells = (o.video_id, o.title, str(o.windows or ""), o.target)
        table.add_row(f"[{colours[o.status]}]{o.status}[/]", *(as_text(cell) for cell in cells))
    out.print(table)
    counts = ", ".join(
        f"{report.count(s)} {s}" for s in ("added", "replaced", "unchanged", "skipped", "failed")
    )
    out.print(counts)
