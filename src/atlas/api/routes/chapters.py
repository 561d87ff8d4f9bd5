"""GET /api/videos/{id}/chapters: ``atlas chapters --json``, over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from atlas.api.context import Context
from atlas.api.schemas import ErrorOut
from atlas.chapters.service import DEFAULT_SEGMENTER, ChapterOptions, SegmenterName

router = APIRouter(prefix="/api/videos", tags=["videos"])


class ChapterOut(BaseModel):
    index: int
    title: str = Field(description="a short title: the chapter's key phrase, or the local model's words")
    start: float | None = Field(description="seconds; null when the transcript is untimed")
    end: float | None
    position: int = Field(description="word offset of the chapter's first sentence (locates untimed ones)")
    first_sentence: int
    last_sentence: int
    preview: str = Field(description="the chapter's opening words")
    url: str = Field(description="deep link that opens the chapter (no time fragment when untimed)")


class ChaptersOut(BaseModel):
    video_id: str
    title: str
    timed: bool
    duration: float | None
    segmenter: str
    titles: str = Field(description='"keyphrase", or "llm/<model>"')
    chapters: list[ChapterOut]


@router.get(
    "/{video_id:path}/chapters",
    response_model=ChaptersOut,
    responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
def chapters(
    context: Context,
    video_id: str,
    titles: Annotated[
        Literal["keyphrase", "llm"],
        Query(description="keyphrase (instant) or llm (the bundled local model, seconds per chapter)"),
    ] = "keyphrase",
    segmenter: Annotated[SegmenterName, Query(description="how topic turns are found")] = DEFAULT_SEGMENTER,
    min_seconds: Annotated[float | None, Query(alias="min", ge=0, description="shortest chapter, s")] = None,
    max_seconds: Annotated[float | None, Query(alias="max", gt=0, description="longest chapter, s")] = None,
) -> dict[str, Any]:
    """The video cut into topic segments where its subject turns, each with a start time and a short title,
    computed from the sentence vectors stored at ingest."""
    options = ChapterOptions(
        titles=titles, segmenter=segmenter, min_seconds=min_seconds, max_seconds=max_seconds
    )
    if titles == "llm":
        with context.ask_lock:  # one local model context: one generation at a time
            return context.library.chapters(video_id, options).to_json()
    return context.library.chapters(video_id, options).to_json()
