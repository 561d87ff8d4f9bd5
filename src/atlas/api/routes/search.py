"""GET /api/search: the CLI's ``atlas search --json``, over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from atlas.api.context import Context
from atlas.api.schemas import ErrorOut, SearchOut
from atlas.api.views import highlight_words, video_json
from atlas.errors import UserInputError
from atlas.models import SearchFilters
from atlas.search.engine import MAX_LIMIT, MAX_QUERY_CHARS, Mode

router = APIRouter(prefix="/api", tags=["search"])


@router.get("/search", response_model=SearchOut, responses={400: {"model": ErrorOut}})
def search(
    context: Context,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="what to find")],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    mode: Mode = "hybrid",
    video: Annotated[list[str] | None, Query(max_length=100, description="only these video ids")] = None,
    channel: Annotated[list[str] | None, Query(max_length=100, description="only these channels")] = None,
    after: Annotated[date | None, Query(description="published on or after")] = None,
    before: Annotated[date | None, Query(description="published on or before")] = None,
) -> dict[str, Any]:
    """Moments matching ``q``, best first; each hit has exactly the keys of ``atlas search --json``."""
    if not q.strip():  # refused even by an empty library, which never reaches the engine's own check
        raise UserInputError("the query is empty", hint="type what you are looking for, e.g. q=gpu cost")
    filters = SearchFilters.of(video, channel, after, before)
    hits = context.library.search(q, limit=limit, filters=filters, mode=mode)
    return {
        "query": q,
        "hits": [hit.to_json() for hit in hits],
        "videos": {hit.video.video_id: video_json(hit.video) for hit in hits},
        "highlights": [highlight_words(hit) for hit in hits],
    }
