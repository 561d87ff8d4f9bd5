"""POST /api/ask: a cited answer, as one JSON object or streamed as server-sent events.

With ``Accept: text/event-stream`` the answer streams as it is generated::

    event: moments   data: {"citations": [...], "videos": {id: video}}   the moments, numbered as cited
    event: token     data: {"text": "..."}            once per generated piece of text
    event: done      data: {<the Answer JSON>}        the checked answer (unsupported sentences dropped)
    event: error     data: {"error": {...}}           instead of what would follow, if generation fails

Errors before the first event (a bad filter, no model) are plain JSON errors with their status. One answer
is generated at a time: the model holds one context.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from atlas.answer.registry import generator_names, runnable_generator_names
from atlas.api.context import Context
from atlas.api.errors import BusyError, atlas_error_body, error_body
from atlas.api.schemas import AnswerOut, AskIn, ErrorOut
from atlas.errors import AtlasError, UserInputError
from atlas.models import AnswerDone, AnswerEvent, AnswerToken, AskOptions, MomentsFound, SearchFilters
from atlas.views import video_json

log = logging.getLogger("atlas.api.ask")
router = APIRouter(prefix="/api", tags=["ask"])

ASK_WAIT_SECONDS = 120.0  # how long a question waits for the generator before 503 busy

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 404, 502, 503)}


@router.post(
    "/ask",
    response_model=AnswerOut,
    responses={**_ERRORS, 200: {"content": {"text/event-stream": {}}}},
)
def ask(context: Context, body: AskIn, request: Request) -> Any:
    """Answer ``question`` from the library's moments, each sentence citing ``[n]`` moments."""
    runnable = runnable_generator_names(context.library.settings.answer)
    if body.generator is not None and body.generator not in runnable:
        # Checked here, not when the answer is generated: a library with nothing relevant never builds one.
        problem = "unknown generator" if body.generator not in generator_names() else "no endpoint here for"
        raise UserInputError(
            f"{problem} {body.generator!r}",
            hint=f"use one of: {', '.join(runnable)} (the document's enum for 'generator' lists them)",
        )
    filters = SearchFilters.of(body.video, body.channel, body.after, body.before, body.speaker)
    options = AskOptions(
        generator=body.generator, model=body.model, limit=body.limit, filters=filters, fallback=body.fallback
    )
    _acquire(context.ask_lock)
    streaming = False
    try:
        if "text/event-stream" not in request.headers.get("accept", ""):
            return JSONResponse(context.library.ask(body.question, options).to_json())
        events = iter(context.library.ask_stream(body.question, options))
        first = next(events, None)  # retrieval errors surface here, as a JSON error with its status
        if first is None:
            raise AtlasError("the answer stream ended before it began")
        pump = _Pump(events, context.ask_lock)  # from here the pump owns the lock
        streaming = True
        return _AnswerStream(first, pump)
    finally:
        if not streaming:
            context.ask_lock.release()


def _acquire(lock: threading.Lock) -> None:
    if not lock.acquire(timeout=ASK_WAIT_SECONDS):
        raise BusyError("the answer generator is busy with other questions", hint="try again in a minute")


class _Pump:
    """Runs the rest of an answer's events on its own thread, which holds the generator lock until they end
    or the client leaves: the model never serves two answers at once, and a client that disconnects frees it
    after the token being generated (the lock is released only once the event iterator is closed)."""

    def __init__(self, events: Iterator[AnswerEvent], lock: threading.Lock) -> None:
        self._events = events
        self._lock = lock
        self._frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._stopped = threading.Event()
        threading.Thread(target=self._run, name="atlas-answer", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        try:
            for event in self._events:
                self._frames.put(_sse(event))
                if self._stopped.is_set():
                    break
        except AtlasError as exc:
            self._frames.put(_frame("error", atlas_error_body(exc)))
        except Exception:
            log.exception("streaming an answer failed")
            failure = error_body("internal_error", "generating the answer failed", "see the server log")
            self._frames.put(_frame("error", failure))
        finally:
            close = getattr(self._events, "close", None)
            if close is not None:
                close()  # a generator's own clean-up runs here, on the thread that ran it
            self._lock.release()
            self._frames.put(None)

    async def frames(self) -> AsyncIterator[bytes]:
        while (frame := await anyio.to_thread.run_sync(self._frames.get, abandon_on_cancel=True)) is not None:
            yield frame


class _AnswerStream(StreamingResponse):
    """The SSE response; however it ends (done, error, client gone), the pump is told to stop."""

    def __init__(self, first: AnswerEvent, pump: _Pump) -> None:
        self._pump = pump

        async def body() -> AsyncIterator[bytes]:
            yield _sse(first)
            async for frame in pump.frames():
                yield frame

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(body(), media_type="text/event-stream", headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._pump.stop()


def _sse(event: AnswerEvent) -> bytes:
    if isinstance(event, MomentsFound):
        videos = {c.hit.video.video_id: video_json(c.hit.video) for c in event.citations}
        return _frame("moments", {"citations": [c.to_json() for c in event.citations], "videos": videos})
    if isinstance(event, AnswerToken):
        return _frame("token", {"text": event.text})
    if isinstance(event, AnswerDone):
        return _frame("done", event.answer.to_json())
    raise TypeError(f"unknown answer event {event!r}")


def _frame(name: str, data: dict[str, Any]) -> bytes:
    # json.dumps never emits a raw newline, so each event's data is exactly one SSE line.
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
