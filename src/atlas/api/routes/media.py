"""GET /media/{video_id}: a local media file for the page's player, with HTTP Range so it can seek.

The client names a video, never a path: the file is the one stored for that video, served only from the
operator's allowed directories (atlas.api.security.PathPolicy.open_media), checked on the file as opened:
the response streams from that descriptor, never from the name again.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.types import Receive, Scope, Send

from atlas.api.context import Context
from atlas.api.schemas import ErrorOut
from atlas.views import MEDIA_TYPES

router = APIRouter(tags=["media"])

_ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": ErrorOut}, 404: {"model": ErrorOut}}


class OpenedFileResponse(FileResponse):
    """Starlette's FileResponse (Range, 206, 416, HEAD) over a descriptor opened and checked already.

    FileResponse opens ``path`` by name when it sends the body; here every read goes to the checked
    descriptor instead (``_open_file``), and the zero-copy ``pathsend`` extension, which would hand the
    server the name, is left out. The descriptor is closed when the response ends, however it ends."""

    def __init__(self, fd: int, **kwargs: Any) -> None:
        self._handle = os.fdopen(fd, "rb")
        super().__init__(stat_result=os.fstat(fd), **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            self._handle.close()

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        yield anyio.wrap_file(self._handle)  # closed in __call__, not per range


@router.get("/media/{video_id:path}", response_class=FileResponse, responses=_ERRORS)
@router.head("/media/{video_id:path}", response_class=FileResponse, include_in_schema=False)
def media(context: Context, video_id: str) -> FileResponse:
    """The video's audio/video file; honours ``Range: bytes=...`` (206 Partial Content)."""
    fd, path = context.paths.open_media(context.library.get_video(video_id))
    try:
        return OpenedFileResponse(fd, path=path, media_type=MEDIA_TYPES[path.suffix.lower()])
    except BaseException:
        os.close(fd)
        raise
