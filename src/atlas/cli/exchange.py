"""atlas export / import: the whole library as documented JSONL (docs/export-format.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from atlas.cli.app import app
from atlas.cli.common import LibraryOpt, StoreOpt, open_library, out
from atlas.ingest_report import STATUSES


@app.command()
def export(
    path: Annotated[Path, typer.Argument(help="Where to write the JSONL file.")],
    library: LibraryOpt = None,
    store: StoreOpt = None,
) -> None:
    """Export transcripts, windows and vectors to one JSONL file."""
    with open_library(library, store=store) as lib:
        count = lib.export(path)
    out.print(f"exported {count} videos to {path}")


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="A file written by atlas export.")],
    library: LibraryOpt = None,
    store: StoreOpt = None,
) -> None:
    """Import a JSONL export (validated whole before anything is written)."""
    with open_library(library, create=True, store=store) as lib:
        report = lib.import_(path)
    # An import is checked whole before anything is written, so no item of it is skipped or failed: those two
    # are left out of the line (unless one ever happens), the others are always shown, zeros included.
    never = ("skipped", "failed")
    counts = ", ".join(f"{report.count(s)} {s}" for s in STATUSES if s not in never or report.count(s))
    out.print(f"imported {path}: {counts}")
