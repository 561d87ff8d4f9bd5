"""Who may write, and which local files the API may read. The model (docs/api.md, "Security model"):

- A server bound to loopback answers only requests addressed to a loopback host name (``localhost``,
  ``127.0.0.1``, ``[::1]``, any port) or one the operator configured (``--allow-host``), on every route
  (``HostGuard``): a web page that rebinds its DNS name to 127.0.0.1 is the same origin as the server to the
  browser, and could otherwise read the library, stream its media and use /docs. Anything else is 421.
- Reads (search, list, show, ask, the page) are open to whoever can reach the port.
- Writes (ingest, delete) need ``Authorization: Bearer $ATLAS_API_TOKEN`` when a token is set. With no token
  they are allowed only on a server bound to loopback, and only for requests addressed to a loopback host
  name (a DNS-rebinding page cannot pose as 127.0.0.1), with a JSON body (a cross-site form cannot send
  one without a CORS preflight, which this server never grants). A server bound elsewhere with no token
  starts, read-only: its writes answer 403 with the fix.
- Local paths: the API ingests only paths inside the operator's allowed directories (``--allow-dir`` /
  ``ATLAS_ALLOWED_DIRS``), checked after resolving symlinks and ``..``, for every file a folder expands to,
  and again on the file as opened when a job reads it or /media serves it (sources/safe_open.py), so a
  symlink swapped in after the check is not followed.
- Models: an API client may name only the bundled Whisper models (and those the operator allowed): any other
  name would make the server download from a hub or load a local folder as a model.
  ``/media/{id}`` serves a file only if it is exactly the media file stored for that video, has a media
  suffix, and lies inside an allowed directory too: a client never names a path, and a library imported
  from elsewhere cannot point the server at other files.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from atlas.api.errors import (
    AuthRequiredError,
    ForbiddenError,
    UnsupportedMediaError,
    WrongHostError,
    error_response,
)
from atlas.asr.models import BUNDLED_MODELS
from atlas.config import ServeSettings, is_loopback
from atlas.errors import NotFoundError, SourceError, UserInputError
from atlas.models import Video
from atlas.sources.safe_open import OutsideAllowedError, open_regular
from atlas.views import MEDIA_TYPES

WriteMode = Literal["token", "loopback", "disabled"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_WEB_SCHEMES = ("http", "https")


def is_url(target: str) -> bool:
    return bool(_URL.match(target))


def host_name(header: str) -> str:
    """The name in a ``Host`` header, lower-case, without port or brackets: ``[::1]:8000`` -> ``::1``."""
    header = header.strip().lower()
    name = header[1:].split("]", 1)[0] if header.startswith("[") else header.rsplit(":", 1)[0]
    if not header.startswith("[") and header.count(":") > 1:
        name = header  # a bare IPv6 address, no port
    return name.rstrip(".")


def host_allowed(header: str, serve: ServeSettings) -> bool:
    """True when a request with this ``Host`` may be answered (always, on a server not bound to loopback:
    its names are not known, and its reads are public by the operator's choice)."""
    if not serve.loopback:
        return True
    name = host_name(header)
    return bool(name) and (is_loopback(name) or name in serve.allowed_hosts)


class HostGuard:
    """Answers 421 ``wrong_host`` (the error shape) to a request for a loopback server that names another
    host, before any route runs: reads, media, /docs and writes alike."""

    def __init__(self, app: ASGIApp, serve: ServeSettings) -> None:
        self.app = app
        self.serve = serve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        host = headers.get(b"host", b"").decode("latin-1")
        if host_allowed(host, self.serve):
            await self.app(scope, receive, send)
            return
        port = self.serve.port
        error = WrongHostError(
            f"this server answers only to loopback names, not {host!r}"
            if host
            else "this server answers only requests with a Host header",
            hint=f"open it as http://127.0.0.1:{port}/, or start atlas serve with --allow-host NAME",
        )
        await error_response(error)(scope, receive, send)


def check_asr_model(name: str | None, serve: ServeSettings) -> str | None:
    """A Whisper model name an API client may ask for: a bundled one or one the operator allowed."""
    if name is None or name in BUNDLED_MODELS or name in serve.allowed_asr_models:
        return name
    allowed = ", ".join((*BUNDLED_MODELS, *serve.allowed_asr_models))
    shown = name if len(name) <= 60 else name[:57] + "..."
    raise UserInputError(
        f"asr_model {shown!r} is not a model this server offers",
        hint=f"use one of: {allowed} (the operator can allow more with ATLAS_ALLOWED_ASR_MODELS)",
    )


def write_mode(serve: ServeSettings) -> WriteMode:
    if serve.workers > 1:
        return "disabled"
    if serve.token:
        return "token"
    return "loopback" if serve.loopback else "disabled"


def check_writer(request: Request, serve: ServeSettings) -> None:
    """Raise unless this request may change the library (see the module docstring)."""
    mode = write_mode(serve)
    if mode == "token":
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = serve.token or ""
        # compare_digest: the time taken must not reveal how much of a guessed token was right.
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise AuthRequiredError(
                "this endpoint needs the API token",
                hint="send the header 'Authorization: Bearer <token>' with the server's ATLAS_API_TOKEN",
            )
    elif mode == "disabled" and serve.workers > 1:
        raise ForbiddenError(
            f"writes are disabled: the server runs {serve.workers} worker processes (--workers)",
            hint="ingest with 'atlas ingest' on the server's machine (every worker sees it at its next "
            "search), or serve with --workers 1 to ingest and delete over HTTP",
        )
    elif mode == "disabled":
        raise ForbiddenError(
            f"writes are disabled: the server listens on {serve.host} and no API token is set",
            hint="restart it with ATLAS_API_TOKEN set (and send it as a bearer token), or bind 127.0.0.1",
        )
    else:
        host = request.headers.get("host", "")
        name = host[1:].split("]", 1)[0] if host.startswith("[") else host.split(":", 1)[0]
        if not is_loopback(name):
            raise ForbiddenError(
                f"writes without a token are only taken for a loopback host, not {host!r}",
                hint=f"open the server as http://127.0.0.1:{serve.port}/ or set ATLAS_API_TOKEN",
            )
    if request.method in ("POST", "PUT", "PATCH"):
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedMediaError(
                f"write requests need a JSON body, not {content_type or 'no content type'!r}",
                hint="send the header 'Content-Type: application/json'",
            )


@dataclass(frozen=True, slots=True)
class PathPolicy:
    """Where the API may read local files: inside ``allowed`` (already resolved) and nowhere else."""

    allowed: tuple[Path, ...]

    def inside(self, path: Path) -> bool:
        real = path.resolve()
        return any(real == root or real.is_relative_to(root) for root in self.allowed)

    def check_target(self, target: str) -> str:
        """A web URL as given, or a local path resolved and inside an allowed directory."""
        target = target.strip()
        if not target:
            raise UserInputError("an ingest target is empty", hint="give a URL or an absolute path")
        if "\x00" in target:  # no path or URL holds one; os calls would raise ValueError (a 500)
            raise UserInputError("an ingest target holds a NUL byte", hint="give a URL or an absolute path")
        if is_url(target):
            if target.split("://", 1)[0].lower() not in _WEB_SCHEMES:
                raise UserInputError(
                    f"unsupported URL scheme in {target!r}", hint="give an http(s) URL or a local path"
                )
            return target
        path = Path(target)
        if not path.is_absolute():
            raise UserInputError(
                f"{target!r} is a relative path",
                hint="give an absolute path: the server's working directory is not yours",
            )
        if not self.allowed:
            raise ForbiddenError(
                "this server ingests no local paths",
                hint="the operator can allow a folder with: atlas serve --allow-dir DIR",
            )
        if not self.inside(path):
            raise ForbiddenError(
                f"{target!r} is outside the directories this server may read",
                hint="move the file into an allowed folder, or restart atlas serve with --allow-dir",
            )
        return str(path.resolve())

    def media_file(self, video: Video) -> Path:
        """The playable file stored for ``video``; NotFound / Forbidden errors say why there is none."""
        stored = video.extra.get("media_path") if isinstance(video.extra.get("media_path"), str) else None
        if video.kind != "media":
            raise NotFoundError(
                f"video {video.video_id!r} has no local media file (it is a {video.kind})",
                hint="only local media files play from this server",
            )
        path = Path(stored or video.source)
        if path.suffix.lower() not in MEDIA_TYPES:
            raise NotFoundError(
                f"video {video.video_id!r} has no playable media file",
                hint=f"playable suffixes: {' '.join(sorted(MEDIA_TYPES))}",
            )
        if not self.allowed or not self.inside(path):
            raise ForbiddenError(
                f"the media file of video {video.video_id!r} is outside the directories this server may read",
                hint="restart atlas serve with --allow-dir naming the folder that holds it",
            )
        real = path.resolve()
        if not real.is_file():
            raise NotFoundError(
                f"the media file of video {video.video_id!r} is missing",
                hint="put the file back, or re-ingest the video",
            )
        return real

    def open_media(self, video: Video) -> tuple[int, Path]:
        """A descriptor on the media file of ``video`` and its name: the checks of ``media_file``, then the
        file as opened must lie inside an allowed directory too (a link swapped in after the check is not
        followed). The caller closes the descriptor."""
        path = self.media_file(video)
        try:
            return open_regular(path, self.allowed), path
        except OutsideAllowedError:
            raise ForbiddenError(
                f"the media file of video {video.video_id!r} is outside the directories this server may read",
                hint="restart atlas serve with --allow-dir naming the folder that holds it",
            ) from None
        except SourceError:
            raise NotFoundError(
                f"the media file of video {video.video_id!r} cannot be opened",
                hint="put the file back, or re-ingest the video",
            ) from None
