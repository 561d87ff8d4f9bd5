"""Ingest progress as plain lines on stderr, for logs, CI and pipes where rich's bars cannot draw.

``atlas ingest --progress plain`` (the default when stderr is not a terminal) prints a line when an item
starts and one when it ends, and in between at most one line every ``EVERY_S`` seconds: the stage it is in
and, for measured stages (download, transcribe, embed), how far along it is. A folder of small files thus
prints two lines per file, and a 1 MB transcript that embeds for minutes says so every few seconds instead of
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console

from atlas.cli.terminal import plain
from atlas.ingest_report import ItemOutcome
from atlas.search.links import format_moment

if TYPE_CHECKING:
    from atlas.cluster.ray_ingest import ClusterProgress

EVERY_S = 5.0


class ProgressLines:
    """An ``IngestObserver`` that prints throttled plain lines (see the module docstring)."""

    def __init__(self, console: Console, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._total = total
        self._clock = clock
        self._started = 0
        self._item_at = 0.0
        self._last_line = 0.0
        self._lost = 0
        self._ended = False

    def item_started(self, target: str) -> None:
        self._started += 1
        self._item_at = self._last_line = self._clock()
        self._say(f"ingest {self._started}/{self._total}: {target}")

    def stage(self, target: str, stage: str) -> None:
        self._maybe(f"  {stage}")

    def progress(self, target: str, stage: str, done: float, total: float | None) -> None:
        self._maybe(f"  {_measured(stage, done, total)}")

    def item_finished(self, outcome: ItemOutcome) -> None:
        took = format_moment(self._clock() - self._item_at)
        windows = f", {outcome.windows} windows" if outcome.windows else ""
        self._say(f"  {outcome.status}{windows} in {took}")

    def cluster(self, progress: ClusterProgress) -> None:
        """``atlas ingest --ray``: items done, audio hours per wall hour, workers alive; throttled, but a lost
        worker and the end are always said."""
        if progress.lost != self._lost or (progress.done == progress.total and not self._ended):
            self._lost, self._ended = progress.lost, progress.done == progress.total
            self._say(cluster_line(progress))
        else:
            self._maybe(cluster_line(progress))

    def _maybe(self, line: str) -> None:
        if self._clock() - self._last_line >= EVERY_S:
            self._say(line)

    def _say(self, line: str) -> None:
        self._last_line = self._clock()
        self._console.print(plain(line), markup=False, highlight=False, soft_wrap=True)


def cluster_line(progress: ClusterProgress) -> str:
    lost = f", {progress.lost} lost and replaced" if progress.lost else ""
    return (
        f"ray: {progress.done}/{progress.total} done, {progress.workers} workers alive{lost}, "
        f"{progress.audio_per_wall:.1f} h of audio per hour"
    )


def _measured(stage: str, done: float, total: float | None) -> str:
    if stage == "transcribe":  # audio seconds
        of = f" of {format_moment(total)}" if total else ""
        return f"transcribe {format_moment(done)}{of} audio"
    if stage == "download":
        of = f" of {total / 1e6:.1f}" if total else ""
        return f"download {done / 1e6:.1f}{of} MB"
    if total:
        return f"{stage} {done:.0f}/{total:.0f} ({100 * done / total:.0f}%)"
    return f"{stage} {done:.0f}"
