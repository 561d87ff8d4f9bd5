"""atlas update: ingest what is new in each followed playlist and channel; --list, --unfollow manage them."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from atlas.cli.app import app
from atlas.cli.common import EmbedderOpt, JsonOpt, LibraryOpt, StoreOpt, open_library, out
from atlas.cli.ingest import (
    AsrOpt,
    BeamOpt,
    ForceAsrOpt,
    QuietOpt,
    exit_if_failed,
    print_warnings,
)
from atlas.cli.progress import with_progress
from atlas.cli.terminal import shown
from atlas.follows import Follow
from atlas.ingest_report import STATUSES, IngestReport
from atlas.models import IngestOptions
from atlas.views import outcome_json

_NOTHING_FOLLOWED = "not following any playlist or channel (ingesting a playlist or channel URL follows it)"


@app.command()
def update(
    list_follows: Annotated[
        bool, typer.Option("--list", help="Show the followed playlists and channels.")
    ] = False,
    unfollow: Annotated[
        str | None, typer.Option("--unfollow", metavar="URL", help="Stop following this playlist or channel.")
    ] = None,
    asr_model: AsrOpt = None,
    force_asr: ForceAsrOpt = False,
    beam: BeamOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
    library: LibraryOpt = None,
    store_url: StoreOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Ingest new videos from every followed playlist and channel (ingesting their URL follows them)."""
    with open_library(library, embedder, store=store_url) as lib:
        store = lib.follows()
        if unfollow is not None:
            gone = store.unfollow(unfollow)
            out.print(shown(f"unfollowed {gone.title or gone.url} ({gone.url})"))
            return
        follows = store.load()
        if list_follows:
            _show(follows, as_json)
            return
        if not follows:
            if as_json:
                sys.stdout.write("[]\n")
            else:
                out.print(_NOTHING_FOLLOWED)
            return
        options = IngestOptions(asr_model=asr_model, force_asr=force_asr, beam=beam)
        results = with_progress(
            lambda observer: lib.update(options, observer=observer),
            lambda: len(follows),
            quiet=quiet,
            as_json=as_json,
        )
    if as_json:
        payload = [
            {"follow": asdict(f), "outcomes": [outcome_json(o) for o in r.outcomes]} for f, r in results
        ]
        sys.stdout.write(json.dumps(payload) + "\n")
    elif not quiet:
        for follow, report in results:
            out.print(shown(f"{follow.title or follow.url}: {_counts(report)}"))
    print_warnings(o for _, report in results for o in report.outcomes)
    stopped = next((report.stopped for _, report in results if report.stopped), None)
    exit_if_failed((o for _, report in results for o in report.failed), stopped)


def _counts(report: IngestReport) -> str:
    return ", ".join(f"{report.count(s)} {s}" for s in STATUSES if report.count(s)) or "nothing listed"


def _show(follows: list[Follow], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps([asdict(f) for f in follows]) + "\n")
        return
    if not follows:
        out.print(_NOTHING_FOLLOWED)
        return
    table = Table(title=f"{len(follows)} followed", show_edge=False)
    for column in ("kind", "title", "url", "since", "max", "last checked"):
        table.add_column(column)
    for f in follows:
        limit = str(f.max_items) if f.max_items is not None else ""
        cells = (f.kind, f.title or "", f.url, f.since or "", limit, f.checked or "")
        table.add_row(*(shown(cell) for cell in cells))
    out.print(table)
