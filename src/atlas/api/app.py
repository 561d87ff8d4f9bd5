"""The FastAPI app factory: ``create_app(settings, serve_settings)``; ``atlas serve`` runs it with uvicorn."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
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
from atlas.api.openapi30 import as_openapi_30
from atlas.api.openapi_rules import document_serve_rules
from atlas.api.routes import ask, chapters, ingest, media, search, system, videos
from atlas.api.security import HostGuard, PathPolicy
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
# Everything else (JSON, media, the docs' files) is never a page to frame or to run anything in. Framing
# is refused everywhere: a framed /docs on a tokenless loopback server would let another site's page click
# its "Execute" buttons, which write. X-Frame-Options says the same to browsers without frame-ancestors.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
MEDIA_POLICY = "default-src 'none'; media-src 'self'; frame-ancestors 'none'"  # a file opened in a tab plays
SWAGGER_CDN = "https://cdn.jsdelivr.net"  # FastAPI's default home of Swagger UI, when the bundle is missing
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

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
        docs_url=None,  # served below, with a content policy that admits exactly its inline script
    )
    app.state.atlas = context
    install_error_handlers(app)
    document_serve_rules(app, serve, settings.answer)
    # chapters before videos: /api/videos/{id:path} would otherwise take /api/videos/{id}/chapters as an id
    for module in (search, chapters, videos, media, ingest, ask, system):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=system.WEB_DIR), name="static")
    docs_policy = _docs(app, swagger_assets)
    # The last added runs first: the host check before anything, and every response gets the headers.
    app.add_middleware(BodyLimit, max_bytes=serve.max_body_bytes)
    app.add_middleware(HostGuard, serve=serve)
    app.add_middleware(SecurityHeaders, docs_policy=docs_policy)
    return app


SERVE_ARGS_ENV = "ATLAS_SERVE_ARGS"  # set by ``atlas serve --workers N`` for its worker processes


def create_app_from_environment() -> FastAPI:
    """The app of one ``atlas serve --workers N`` process (uvicorn calls this factory in each worker),
    built from the settings the command resolved and passed down in ``$ATLAS_SERVE_ARGS``."""
    from atlas.config import resolve_serve_settings, resolve_settings

    args = json.loads(os.environ[SERVE_ARGS_ENV])
    settings = resolve_settings(
        library=args["library"], embedder=args["embedder"], threads=args["threads"], store=args["store"]
    )
    serve = resolve_serve_settings(
        host=args["host"],
        port=args["port"],
        allowed_dirs=tuple(args["allowed_dirs"]),
        allowed_hosts=tuple(args["allowed_hosts"]),
        allowed_asr_models=tuple(args["allowed_asr_models"]),
    )
    return create_app(settings, replace(serve, workers=int(args["workers"])))


def _swagger_assets() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def _docs(app: FastAPI, assets: Path | None) -> str:
    """Serve /docs (Swagger UI: the bundled copy when installed, so it works offline, else FastAPI's CDN
    copy) and return its content policy. The page starts Swagger UI with one inline script, static for the
    app's life: the policy names that script by its SHA-256, so no other inline script can run."""
    if assets is not None:
        app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")
        page = get_swagger_ui_html(
            openapi_url="/docs-openapi.json",  # the bundled Swagger UI 4 reads OpenAPI 3.0 only
            title="Atlas API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )
        elsewhere = ""
    else:
        page = get_swagger_ui_html(openapi_url="/openapi.json", title="Atlas API")
        elsewhere = f" {SWAGGER_CDN}"
    html = bytes(page.body).decode()
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(html)

    @app.get("/docs-openapi.json", include_in_schema=False)
    def docs_openapi() -> JSONResponse:
        return JSONResponse(as_openapi_30(app.openapi()))

    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self'{elsewhere} {hashes}",
            f"style-src 'self'{elsewhere}",
            "img-src 'self' data: https:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _warm_up(library: Library) -> None:
    """Load the model, its tokenizer state and the vector index now, once, instead of in the first request
    (where concurrent first requests would each start loading)."""
    if library.index.identity() is not None:
        library.search("warm up", limit=1)


class SecurityHeaders:
    """On every response: ``nosniff``, ``X-Frame-Options: DENY`` and a content policy with
    ``frame-ancestors 'none'``: the page's strict one on the page and its files, the docs' own on /docs, and
    ``default-src 'none'`` on everything else (JSON, media)."""

    def __init__(self, app: ASGIApp, docs_policy: str) -> None:
        self.app = app
        self.docs_policy = docs_policy

    def _policy(self, path: str) -> str:
        if path == "/" or path.startswith("/static/"):
            return PAGE_POLICY
        if path == "/docs":
            return self.docs_policy
        return MEDIA_POLICY if path.startswith("/media/") else OTHER_POLICY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self._policy(scope.get("path", "")).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"content-security-policy", policy))
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
