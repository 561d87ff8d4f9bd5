"""The FastAPI app factory: ``create_app(settings, serve_settings)``; ``atlas serve`` runs it with uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import atlas
from atlas.api.context import ApiContext
from atlas.api.errors import error_body, install_error_handlers
from atlas.api.jobs import JobManager
from atlas.api.routes import ask, ingest, media, search, system, videos
from atlas.api.security import PathPolicy
from atlas.config import ServeSettings, Settings
from atlas.library import Library

# The page loads nothing from elsewhere except YouTube's player and thumbnails; even if data slipped into
# the DOM as markup, no inline script could run.
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "media-src 'self'",
        "frame-src https://www.youtube-nocookie.com",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

DESCRIPTION = """Search a video library for the exact second something is said or meant, ask questions
answered with cited moments, and ingest new videos in the background. Errors always have the shape
`{"error": {"code", "message", "hint"}}`. Writes need `Authorization: Bearer <ATLAS_API_TOKEN>` unless the
server listens on loopback with no token set."""


def create_app(settings: Settings, serve_settings: ServeSettings | None = None) -> FastAPI:
    """Open the library (created if missing), load its embedding model once, and build the app."""
    serve = serve_settings or ServeSettings()
    library = Library.open(settings, create=True)
    try:
        _warm_up(library)
    except BaseException:
        library.close()
        raise
    context = ApiContext(library, serve, JobManager(library), PathPolicy(serve.allowed_dirs))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    swagger_assets = _swagger_assets()
    app = FastAPI(
        title="Atlas",
        version=atlas.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's /docs loads Swagger UI from a CDN, blank offline: serve the bundled copy when installed.
        docs_url=None if swagger_assets else "/docs",
    )
    app.state.atlas = context
    install_error_handlers(app)
    for module in (search, videos, media, ingest, ask, system):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=system.WEB_DIR), name="static")
    if swagger_assets:
        _offline_docs(app, swagger_assets)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_bytes=serve.max_body_bytes)
    return app


def _swagger_assets() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def _offline_docs(app: FastAPI, assets: Path) -> None:
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Atlas API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def _warm_up(library: Library) -> None:
    """Load the model, its tokenizer state and the vector index now, once, instead of in the first request
    (where concurrent first requests would each start loading)."""
    if library.index.identity() is not None:
        library.search("warm up", limit=1)


class SecurityHeaders:
    """``nosniff`` everywhere; the strict content policy on the page and its files (not on /docs, whose
    Swagger UI page has an inline script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        on_page = path == "/" or path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                if on_page:
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Request bodies over ``max_bytes`` get a 413 in the error shape: at once when Content-Length says so,
    else as soon as the streamed body passes the limit (the route reading it gets the error)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            body = error_body("payload_too_large", self._message(), "send a smaller request body")
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException raised while FastAPI reads the body reaches the error handlers as is.
                raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"the request body is over the limit of {self.max_bytes:,} bytes"
