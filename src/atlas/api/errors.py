"""The one place where errors become HTTP responses.

Every error the API returns, whatever raised it, has one shape (guarded by
tests/api/test_errors_and_docs.py)::

    {"error": {"code": "bad_input", "message": "the query is empty", "hint": "type what you are looking for"}}

The status comes from the error class (``AtlasError.http_status``; see atlas/errors.py for the tree). The
classes below add the statuses only HTTP has:

    AtlasError
    └── ApiError                      (never raised itself)
        ├── AuthRequiredError         401  unauthorized      no or wrong bearer token
        ├── ForbiddenError            403  forbidden         writes disabled, path outside the allowed dirs
        ├── UnsupportedMediaError     415  unsupported_media a write request whose body is not JSON
        ├── WrongHostError            421  wrong_host        a loopback server asked by another name
        └── BusyError                 503  busy              the answer generator is taken for too long

Request validation (pydantic) becomes 400 ``bad_input``, like a bad CLI argument; unknown routes and methods
keep their 404/405; anything unexpected is a 500 ``internal_error`` whose details go to the server log only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from atlas.errors import AtlasError

log = logging.getLogger("atlas.api")

SCHEMA_HINT = "see the request schema at /docs (or /openapi.json)"


class ApiError(AtlasError):
    """Errors only the HTTP face has."""


class AuthRequiredError(ApiError):
    http_status = 401
    code = "unauthorized"


class ForbiddenError(ApiError):
    http_status = 403
    code = "forbidden"


class WrongHostError(ApiError):
    """A request to a loopback server whose ``Host`` is not a loopback or configured name: a page that
    rebinds its DNS name to 127.0.0.1 is the same origin as this server to the browser, but says its own
    name here. 421 Misdirected Request: this server does not serve that name."""

    http_status = 421
    code = "wrong_host"


class UnsupportedMediaError(ApiError):
    http_status = 415
    code = "unsupported_media"


class BusyError(ApiError):
    http_status = 503
    code = "busy"


# Codes for statuses raised by the framework itself (unknown route, wrong method, body over the limit).
_HTTP_CODES = {
    400: "bad_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media",
}
_HTTP_HINTS = {
    404: "see the endpoints at /docs",
    405: "see the endpoints and their methods at /docs",
    413: "send a smaller request body",
}


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    """The error shape, for JSON responses and for the SSE ``error`` event alike."""
    return {"error": {"code": code, "message": message, "hint": hint}}


def atlas_error_body(exc: AtlasError) -> dict[str, Any]:
    return error_body(exc.code, exc.message, exc.hint)


def error_response(exc: AtlasError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(atlas_error_body(exc), status_code=exc.http_status, headers=headers)


def _describe_validation(errors: Sequence[Any]) -> str:
    """``limit: Input should be less than or equal to 200`` for the first problem (+ how many more)."""
    if not errors:
        return "the request is not valid"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header"))
    message = f"{where}: {first.get('msg', 'invalid value')}" if where else str(first.get("msg", "invalid"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return message


async def _on_atlas_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AtlasError)
    if exc.http_status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.one_line())
    return error_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = error_body("bad_input", _describe_validation(exc.errors()), SCHEMA_HINT)
    return JSONResponse(body, status_code=400)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    body = error_body(_HTTP_CODES.get(status, f"http_{status}"), message, _HTTP_HINTS.get(status))
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return JSONResponse(body, status_code=status, headers=headers or None)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method the path is served with. Starlette's own ``Allow`` names only the first route whose path
    matched, but a path has one route per method (GET and DELETE /api/jobs/{id} are two). Asked method by
    method through ``matches`` (a router included in the app keeps its routes to itself), counting only the
    router (or route) that takes the path first: DELETE /api/videos/{id:path} also matches
    /api/videos/x/chapters, but as a video "x/chapters", which is not this resource."""
    routes = request.app.router.routes
    owner = next((route for route in routes if route.matches(request.scope)[0] != Match.NONE), None)
    allowed = []
    for method in _METHODS:
        asked = {**request.scope, "method": method}
        served_by = next((route for route in routes if route.matches(asked)[0] == Match.FULL), None)
        if served_by is not None and served_by is owner:
            allowed.append(method)
    return allowed


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server log, never to the client (it may hold paths and data).
    log.exception("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
    body = error_body("internal_error", "unexpected server error", "see the server log for details")
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AtlasError, _on_atlas_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
