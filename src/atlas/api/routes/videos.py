"""The library's videos: list, one with its timed transcript, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from atlas.api.context import Context, WriterContext
from atlas.api.schemas import ErrorOut, VideoDetailOut, VideoOut
from atlas.views import record_json, video_json

router = APIRouter(prefix="/api/videos", tags=["videos"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
}


@router.get("", response_model=list[VideoOut])
def list_videos(context: Context) -> list[dict[str, Any]]:
    """Every video, by title."""
    return [video_json(v) for v in context.library.list_videos()]


# ``:path``: an id never holds "/" now (atlas/ids.py), but libraries from before the rule may; the converter
# keeps those reachable (``/api/videos/old%2Fid``).
@router.get("/{video_id:path}", response_model=VideoDetailOut, responses=_NOT_FOUND)
def get_video(context: Context, video_id: str) -> dict[str, Any]:
    """One video's metadata and its transcript segments with their times (seconds; null when untimed)."""
    return record_json(context.library.get_record(video_id))


@router.delete("/{video_id:path}", responses=_WRITE_ERRORS)
def delete_video(context: WriterContext, video_id: str) -> dict[str, Any]:
    """Remove a video and everything indexed for it (needs write access: see docs/api.md)."""
    context.library.remove(video_id)
    return {"video_id": video_id, "deleted": True}
