"""GET /media/{video_id}: a local media file for the page's player, with HTTP Range so it can seek.

The client names a video, never a path: the file is the one stored for that video, served only from the
operator's allowed directories (atlas.api.security.PathPolicy.media_file).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from atlas.api.context import Context
from atlas.api.schemas import ErrorOut
from atlas.api.security import MEDIA_TYPES

router = APIRouter(tags=["media"])

_ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": ErrorOut}, 404: {"model": ErrorOut}}


@router.get("/media/{video_id}", response_class=FileResponse, responses=_ERRORS)
@router.head("/media/{video_id}", response_class=FileResponse, include_in_schema=False)
def media(context: Context, video_id: str) -> FileResponse:
    """The video's audio/video file; honours ``Range: bytes=...`` (206 Partial Content)."""
    path = context.paths.media_file(context.library.get_video(video_id))
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix.lower()])
