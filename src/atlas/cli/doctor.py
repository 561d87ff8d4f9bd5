"""atlas doctor: where the library is, what it holds, whether its store is consistent, and which optional
features this installation has (with the command that adds a missing one)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import typer
from rich.table import Table

from atlas.cli.app import app
from atlas.cli.common import JsonOpt, LibraryOpt, StoreOpt, open_library, out
from atlas.errors import LibraryCorruptError
from atlas.features import features


@app.command()
def doctor(as_json: JsonOpt = False, library: LibraryOpt = None, store: StoreOpt = None) -> None:
    """Check the library's store and list which optional features are installed (exit 3 if damaged)."""
    with open_library(library, store=store) as lib:
        health = lib.health()
    found = features()
    if as_json:
        payload = {
            "library": str(health.directory),
            "store": health.store or "sqlite",
            "embedder": health.identity.embedder if health.identity else None,
            "counts": health.counts,
            "problems": list(health.problems),
            "features": [asdict(f) for f in found],
        }
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        out.print(f"[bold]library[/]   {health.directory}")
        out.print(f"[bold]store[/]     {health.store or 'embedded SQLite (in the library directory)'}")
        if health.identity is not None:
            out.print(f"[bold]embedder[/]  {health.identity.embedder} ({health.identity.dim}-d)")
        counts = health.counts
        out.print(
            f"[bold]holds[/]     {counts['videos']} videos, {counts['windows']} windows, "
            f"{counts['sentences']} sentences"
        )
        for problem in health.problems:
            out.print(f"[red]problem[/]   {problem}")
        if not health.problems:
            checked = (
                "PostgreSQL: BM25 statistics, full-text vectors, HNSW index"
                if health.store
                else "SQLite integrity, full-text index, vector index"
            )
            out.print(f"[green]store consistent[/] ({checked})")
        table = Table(show_edge=False, title="features")
        for col in ("", "feature", "provided by"):
            table.add_column(col)
        for f in found:
            table.add_row("[green]yes[/]" if f.available else "[red]no[/]", f.name, f.detail)
        out.print(table)
    if health.problems:
        raise typer.Exit(LibraryCorruptError.exit_code)
