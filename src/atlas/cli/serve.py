"""atlas serve: the HTTP API and the web page, with uvicorn."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from atlas.cli.app import app
from atlas.cli.common import EmbedderOpt, LibraryOpt, StoreOpt, err
from atlas.config import ServeSettings, Settings, resolve_serve_settings, resolve_settings
from atlas.errors import require


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    allow_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--allow-dir",
            help="A folder the API may ingest local files from and play media from (repeatable; "
            "else $ATLAS_ALLOWED_DIRS).",
            show_default=False,
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="A host name a loopback server also answers to, e.g. one in /etc/hosts (repeatable; else "
            "$ATLAS_ALLOWED_HOSTS, comma-separated). Other names get 421: DNS rebinding.",
            show_default=False,
        ),
    ] = None,
    allow_asr_model: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-asr-model",
            help="A Whisper model API clients may ask for besides tiny.en and base (repeatable; else "
            "$ATLAS_ALLOWED_ASR_MODELS, comma-separated).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes sharing the library (each loads the model and vector index: ~0.5 GiB "
            "at 200k windows). Above 1 the API is read-only; ingest with 'atlas ingest' beside it.",
        ),
    ] = 1,
    library: LibraryOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Serve the web page and the HTTP API (OpenAPI docs at /docs).

    Writes (ingest, delete) need $ATLAS_API_TOKEN as a bearer token, or with none set, a loopback --host;
    with --workers above 1 there are none."""
    uvicorn: Any = require("uvicorn", extra="serve", purpose="atlas serve")
    require("fastapi", extra="serve", purpose="atlas serve")
    from atlas.api.app import SERVE_ARGS_ENV, create_app
    from atlas.api.security import write_mode

    settings = resolve_settings(library=library, embedder=embedder, store=store)
    serve_settings = resolve_serve_settings(
        host=host,
        port=port,
        allowed_dirs=tuple(allow_dir or ()),
        allowed_hosts=tuple(allow_host or ()),
        allowed_asr_models=tuple(allow_asr_model or ()),
    )
    serve_settings = replace(serve_settings, workers=workers)
    writes = {
        "token": "writes need the bearer token",
        "loopback": "writes open to this machine (no token set)",
        "disabled": "read-only: set ATLAS_API_TOKEN to allow ingest and delete",
    }[write_mode(serve_settings)]
    if workers > 1:
        writes = f"{workers} worker processes, read-only: ingest with 'atlas ingest' beside it"
    shown_host = f"[{host}]" if ":" in host else host
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "warning", "server_header": False}
    # uvicorn closes a kept-alive connection after 5 idle seconds by default; a busy client reusing it just
    # then gets a dropped request (seen under load in bench_api_load.py). Browsers keep theirs longer.
    options["timeout_keep_alive"] = 30
    if workers == 1:
        api = create_app(settings, serve_settings)
        err.print(f"Atlas serving {settings.library_dir} at http://{shown_host}:{port}/ ({writes})")
        uvicorn.run(api, **options)
        return
    # uvicorn starts each worker process fresh and imports the app by name: the settings resolved here
    # travel in the environment, which the workers inherit.
    os.environ[SERVE_ARGS_ENV] = serve_args_json(settings, serve_settings)
    err.print(f"Atlas serving {settings.library_dir} at http://{shown_host}:{port}/ ({writes})")
    uvicorn.run("atlas.api.app:create_app_from_environment", factory=True, workers=workers, **options)


def serve_args_json(settings: Settings, serve: ServeSettings) -> str:
    """What a worker process needs to build the same app (see ``create_app_from_environment``)."""
    return json.dumps(
        {
            "library": str(settings.library_dir),
            "store": settings.store,
            "embedder": settings.embedder,
            "threads": settings.threads,
            "host": serve.host,
            "port": serve.port,
            "allowed_dirs": [str(d) for d in serve.allowed_dirs],
            "allowed_hosts": list(serve.allowed_hosts),
            "allowed_asr_models": list(serve.allowed_asr_models),
            "workers": serve.workers,
        }
    )
