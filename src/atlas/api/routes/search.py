"""GET /api/search: the CLI's ``atlas search --json``, over HTTP.

An async route: a repeated query is answered from the search cache (search_cache.py) on the event loop,
with no thread hop; any other runs the search and its JSON encoding on one worker thread."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from atlas.api.context import ApiContext, get_context
from atlas.api.schemas import NOT_BLANK_PATTERN, ErrorOut, IsoDate, SearchOut
from atlas.errors import UserInputError
from atlas.limits import MAX_QUERY_CHARS, MAX_SEARCH_LIMIT
from atlas.models import SearchFilters
from atlas.search.engine import Mode
from atlas.views import highlight_words, video_json

router = APIRouter(prefix="/api", tags=["search"])


@router.get("/search", response_model=SearchOut, responses={400: {"model": ErrorOut}})
async def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description="what to find",
            json_schema_extra={"pattern": NOT_BLANK_PATTERN},
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 10,
    mode: Mode = "hybrid",
    video: Annotated[list[str] | None, Query(max_length=100, description="only these video ids")] = None,
    channel: Annotated[list[str] | None, Query(max_length=100, description="only these channels")] = None,
    after: Annotated[IsoDate | None, Query(description="published on or after")] = None,
    before: Annotated[IsoDate | None, Query(description="published on or before")] = None,
    speaker: Annotated[
        str | None,
        Query(max_length=200, description="only moments said by this speaker (exact name, any case)"),
    ] = None,
) -> Response:
    """Moments matching ``q``, best first; each hit has exactly the keys of ``atlas search --json``."""
    if not q.strip():  # refused even by an empty library, which never reaches the engine's own check
        raise UserInputError("the query is empty", hint="type what you are looking for, e.g. q=gpu cost")
    filters = SearchFilters.of(video, channel, after, before, speaker)
    context = get_context(request)
    cache = context.search_cache
    generation = cache.generation_of(context.library.index)
    key = (generation, q, limit, mode, filters)
    if generation is not None:
        cache.at(generation)
        body = cache.get(key)
        if body is not None:
            return Response(body, media_type="application/json")
    body = await run_in_threadpool(_search_json, context, q, limit, mode, filters)
    if generation is not None:
        cache.put(key, body)
    return Response(body, media_type="application/json")


def _search_json(context: ApiContext, q: str, limit: int, mode: Mode, filters: SearchFilters) -> bytes:
    """The response body, checked against ``SearchOut`` (as FastAPI checks a returned dict) and encoded."""
    hits = context.library.search(q, limit=limit, filters=filters, mode=mode)
    out = {
        "query": q,
        "hits": [hit.to_json() for hit in hits],
        "videos": {hit.video.video_id: video_json(hit.video) for hit in hits},
        "highlights": [highlight_words(hit) for hit in hits],
    }
    return SearchOut.model_validate(out).model_dump_json().encode()
