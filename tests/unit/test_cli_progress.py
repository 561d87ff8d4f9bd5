"""cli/progress.py: which face ``with_progress`` gives an ingest (bars, plain lines, none) for each
``--progress`` / ``--quiet`` / ``--json`` choice, and what the bars say about a measured stage."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from rich.console import Console
from rich.progress import Progress

from atlas.cli.progress import IngestBars, ProgressMode, progress_bars, with_progress
from atlas.cli.progress_lines import ProgressLines
from atlas.ingest_report import ItemOutcome
from atlas.library import IngestObserver


def _observer_for(*, quiet: bool = False, as_json: bool = False, mode: ProgressMode) -> object:
    """The observer ``with_progress`` hands the work, and that ``planned`` is asked only when one is made."""
    asked: list[int] = []

    def planned() -> int:
        asked.append(1)
        return 3

    def work(observer: IngestObserver | None) -> object:
        return observer

    observer = with_progress(work, planned, quiet=quiet, as_json=as_json, progress=mode)
    assert len(asked) == (0 if observer is None else 1)
    return observer


@pytest.mark.parametrize("mode", list(ProgressMode))
def test_quiet_means_no_observer_whatever_the_mode(mode: ProgressMode) -> None:
    assert _observer_for(quiet=True, mode=mode) is None


def test_each_mode_picks_its_face() -> None:
    assert _observer_for(mode=ProgressMode.off) is None
    assert isinstance(_observer_for(mode=ProgressMode.plain), ProgressLines)
    assert isinstance(_observer_for(mode=ProgressMode.rich), IngestBars)
    # auto: the test's stderr is not a terminal, and --json takes stdout: plain lines either way
    assert isinstance(_observer_for(mode=ProgressMode.auto), ProgressLines)
    assert isinstance(_observer_for(mode=ProgressMode.auto, as_json=True), ProgressLines)


@pytest.fixture
def drawn() -> Iterator[tuple[Progress, io.StringIO]]:
    """Bars drawn into a buffer, as on a 160-column terminal."""
    buffer = io.StringIO()
    progress = progress_bars(Console(file=buffer, force_terminal=True, width=160))
    with progress:
        yield progress, buffer


def test_bars_show_stage_audio_seconds_and_eta(drawn: tuple[Progress, io.StringIO]) -> None:
    progress, buffer = drawn
    bars = IngestBars(progress, total=2)
    bars.item_started("talk.mp4")
    bars.progress("talk.mp4", "transcribe", 0.0, 5400.0)
    time.sleep(0.05)
    bars.progress("talk.mp4", "transcribe", 1800.0, 5400.0)
    progress.refresh()
    shown = buffer.getvalue()
    assert "ingest 1/2" in shown and "talk.mp4" in shown
    assert "transcribe 0:30:00/1:30:00 audio" in shown and "ETA" in shown
    bars.stage("talk.mp4", "embed")
    bars.item_finished(ItemOutcome("talk.mp4", "added", "talk", "Talk", 12))
    bars.item_started("notes.vtt")
    progress.refresh()
    shown = buffer.getvalue()
    assert "ingest 2/2" in shown and "1 added" in shown


def test_bars_show_downloaded_megabytes(drawn: tuple[Progress, io.StringIO]) -> None:
    progress, buffer = drawn
    bars = IngestBars(progress, total=1)
    bars.item_started("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    bars.progress("talk", "download", 1_500_000, 4_000_000)
    progress.refresh()
    assert "download 1.5/4.0 MB" in buffer.getvalue()
    bars.progress("talk", "download", 2_000_000, None)  # a server that sends no length
    progress.refresh()
    assert "download 2.0 MB" in buffer.getvalue()
