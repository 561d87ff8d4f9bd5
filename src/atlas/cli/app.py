"""The ``atlas`` command. Commands live one per module; this module builds the app and is the one place
where errors become exit codes and one-line messages."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from atlas.cli.terminal import shown
from atlas.errors import AtlasError

app = typer.Typer(
    name="atlas",
    help="Find the exact second in a video where something is said or meant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Importing the command modules registers their commands on `app`.
    from atlas.cli import ask, chapters, doctor, exchange, ingest, manage, search, serve, update  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    _register()
    from atlas.cli.ingest import with_ray_default

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        # Typer handles its own usage errors (exit 2) and exits; AtlasError passes through to here.
        app(args=with_ray_default(sys.argv[1:] if argv is None else argv))
    except AtlasError as exc:
        # The message may quote a file name or a title: shown as text, controls visible (cli/terminal.py).
        err.print(f"[bold red]error:[/] {shown(exc.one_line())}", markup=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted; everything committed so far is kept")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)  # `atlas search ... | head` closed the pipe: not an error
