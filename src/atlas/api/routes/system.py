"""GET /api/health, and the web page at /."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

import atlas
from atlas.api.context import Context
from atlas.api.schemas import HealthOut

WEB_DIR = Path(atlas.__file__).resolve().parent / "web"

router = APIRouter()


@router.get("/api/health", response_model=HealthOut, tags=["system"])
def health(context: Context) -> dict[str, Any]:
    """Liveness plus what this server holds and whether it takes writes (token / loopback / disabled)."""
    library = context.library
    identity = library.index.identity()
    counts = library.index.counts()
    return {
        "status": "ok",
        "version": atlas.__version__,
        "library": str(library.settings.library_dir),
        "videos": counts["videos"],
        "windows": counts["windows"],
        "embedder": identity.embedder if identity else None,
        "writes": context.writes,
    }


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html")
