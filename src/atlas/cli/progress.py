"""Ingest progress on stderr: rich bars on a terminal, plain lines (progress_lines.py) elsewhere.

``atlas ingest`` and ``atlas update`` run their work through ``with_progress``, which picks the face from
``--progress`` and ``--quiet`` and hands the work an ``IngestObserver`` (or none).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

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
from rich.text import Text

from atlas.cli.common import err
from atlas.cli.progress_lines import ProgressLines, cluster_line
from atlas.cli.terminal import shown
from atlas.ingest_report import ItemOutcome
from atlas.search.links import format_moment

if TYPE_CHECKING:
    from atlas.cluster.ray_ingest import ClusterProgress
    from atlas.library import IngestObserver

T = TypeVar("T")


class ProgressMode(StrEnum):
    auto = "auto"
    rich = "rich"
    plain = "plain"
    off = "off"


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


class _Remaining(ProgressColumn):
    """ETA for measured stages only (transcribe, download); chunk/embed/index have no known length. The rate
    is the stage's average so far (rich's own estimate needs several updates inside a 30 s window, and a
    Whisper chunk can take longer than that between updates)."""

    def render(self, task: Task) -> Text:
        if not (task.fields.get("measured") and task.total and task.completed > 0 and task.elapsed):
            return Text("")
        remaining = task.elapsed * max(0.0, task.total - task.completed) / task.completed
        return Text(f"ETA {format_moment(remaining)}", style="cyan")


def _measure(stage: str, done: float, total: float | None) -> str:
    if stage == "download":
        return (
            f"download {_megabytes(done)}/{_megabytes(total)} MB"
            if total
            else f"download {_megabytes(done)} MB"
        )
    if stage == "transcribe":  # audio seconds
        position = f"{format_moment(done)}/{format_moment(total)}" if total else format_moment(done)
        return f"transcribe {position} audio"
    return f"{stage} {done:.0f}/{total:.0f}" if total else f"{stage} {done:.0f}"


def _megabytes(count: float | None) -> str:
    return f"{(count or 0) / 1e6:.1f}"


def _short(target: str, width: int = 40) -> str:
    return target if len(target) <= width else "…" + target[-(width - 1) :]
