"""A thin client over yt-dlp: extract info, list a playlist lazily, fetch a caption track, download audio.

Extraction sits behind the small ``Extractor`` protocol: ``YtDlpExtractor`` asks YouTube, and
``RecordedExtractor`` replays info dicts saved from yt-dlp (tests, offline replays). Everything after
extraction goes through a real ``YoutubeDL`` either way: caption tracks with ``YoutubeDL.dl`` (the path
yt-dlp's own ``--write-subs`` takes) and audio with ``YoutubeDL.process_ie_result`` (format selection,
resumable ``.part`` files, yt-dlp's HTTP retries). Audio is kept as downloaded (m4a / webm): no FFmpeg
post-processing, because PyAV decodes those containers itself and the ffmpeg binary may not be installed.

Retries: yt-dlp retries HTTP downloads itself (``retries``, with exponential ``retry_sleep_functions``);
around extraction and playlist paging this module retries transient failures (``ytdlp_errors.describe``)
with exponential backoff, then gives up with a one-line ``SourceError``.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from atlas.errors import AtlasError, SourceError, require
from atlas.sources.captions import CaptionTrack
from atlas.sources.transcript_files import decode_transcript
from atlas.sources.ytdlp_errors import describe

Info = dict[str, Any]
T = TypeVar("T")
_log = logging.getLogger("atlas.youtube")


class Extractor(Protocol):
    """yt-dlp's info dict for a URL, unprocessed (``extract_info(..., process=False)``): a video's full info,
    or a playlist whose ``entries`` are flat url results, produced lazily."""

    def extract(self, url: str) -> Info: ...

    def close(self) -> None: ...


# Builds the extractor for one ingest run from the yt-dlp options (cache dir, retries) it should use.
ExtractorFactory = Callable[[Mapping[str, Any]], Extractor]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # tries per request in all, for transient failures only
    base_delay: float = 2.0  # seconds before the second try; doubles each time
    max_delay: float = 60.0

    def delay(self, n: int) -> float:
        """Seconds before retry ``n`` (0-based); ``n`` is the name yt-dlp's retry_sleep_functions pass."""
        return float(min(self.max_delay, self.base_delay * 2**n))


def yt_dlp_module() -> Any:
    return require("yt_dlp", extra="media", purpose="YouTube ingestion")


class _Logger:
    """yt-dlp's messages go to Python logging, not the terminal the progress bars draw on."""

    def debug(self, message: str) -> None:
        _log.debug(message)

    def info(self, message: str) -> None:
        _log.debug(message)

    def warning(self, message: str) -> None:
        _log.info(message)

    def error(self, message: str) -> None:
        _log.info(message)


def base_params(cache_dir: Path | None, retry: RetryPolicy) -> dict[str, Any]:
    """yt-dlp options shared by extraction and downloads."""
    return {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _Logger(),
        # yt-dlp caches YouTube player code; keep it inside the library, never in ~/.cache.
        "cachedir": str(cache_dir / "yt-dlp") if cache_dir is not None else False,
        "retries": 5,
        "fragment_retries": 5,
        "extractor_retries": 3,
        "file_access_retries": 3,
        # Exponential waits between yt-dlp's own download retries. Its extractor retries (YouTube answering
        # with incomplete data) stay immediate: the retry loop here already backs off around extraction.
        "retry_sleep_functions": {kind: retry.delay for kind in ("http", "fragment")},
        "socket_timeout": 30,
        "noplaylist": True,
        "extract_flat": "in_playlist",
        # YouTube's player challenges need a JavaScript runtime; use whichever of these is installed.
        "js_runtimes": {"deno": {}, "node": {}, "bun": {}},
    }


class YtDlpExtractor:
    """Asks YouTube through yt-dlp; one ``YoutubeDL`` (and its connections) for the extractor's life."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._params = dict(params)
        self._ydl: Any = None

    def extract(self, url: str) -> Info:
        if self._ydl is None:
            self._ydl = yt_dlp_module().YoutubeDL(self._params)
        info: Info = self._ydl.extract_info(url, download=False, process=False)
        # process=False stops at yt-dlp's own redirects (a playlist URL hands over to the tab extractor).
        for _ in range(5):
            if info.get("_type") not in ("url", "url_transparent"):
                return info
            info = self._ydl.extract_info(
                info["url"], download=False, process=False, ie_key=info.get("ie_key")
            )
        raise SourceError(url, "YouTube redirected too many times")

    def close(self) -> None:
        if self._ydl is not None:
            self._ydl.close()
            self._ydl = None


def create_extractor(params: Mapping[str, Any]) -> Extractor:
    """The extractor real ingests use (tests swap in a ``RecordedExtractor`` here)."""
    return YtDlpExtractor(params)


class RecordedExtractor:
    """Replays recorded yt-dlp info dicts, keyed by the URL asked for.

    A recording is what yt-dlp returned (``yt-dlp -J``, or ``sanitize_info`` of
    ``extract_info(url, process=False)``); a playlist's ``entries`` come back as a generator, as yt-dlp's do.
    ``{"_error": "Private video..."}`` raises yt-dlp's own ``DownloadError`` around an ``ExtractorError``;
    ``"_network_failures": n`` makes the first n extractions of that URL fail as a dropped connection does.
    """

    def __init__(self, recordings: Mapping[str, Mapping[str, Any]]) -> None:
        self._recordings = {url: json.loads(json.dumps(info)) for url, info in recordings.items()}
        self._failures = {url: int(info.get("_network_failures", 0)) for url, info in recordings.items()}
        self.requests: list[str] = []

    @classmethod
    def from_files(cls, paths: list[Path]) -> RecordedExtractor:
        """Recordings keyed by each file's ``webpage_url``."""
        infos = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
        return cls({info["webpage_url"]: info for info in infos})

    def extract(self, url: str) -> Info:
        self.requests.append(url)
        if url not in self._recordings:
            raise LookupError(f"no recording for {url}")
        info: Info = json.loads(json.dumps(self._recordings[url]))
        yt_dlp = yt_dlp_module()
        utils, network = yt_dlp.utils, yt_dlp.networking.exceptions
        try:
            if self._failures.get(url, 0) > 0:
                self._failures[url] -= 1
                cause = network.TransportError("Connection reset by peer")
                raise utils.ExtractorError("Unable to download webpage", cause=cause, ie="youtube")
            if "_error" in info:
                raise utils.ExtractorError(
                    info["_error"], expected=True, video_id=info.get("id"), ie="youtube"
                )
        except utils.ExtractorError as exc:
            # What YoutubeDL.extract_info raises for a failed extraction (report_error -> DownloadError).
            raise utils.DownloadError(f"ERROR: {exc}", sys.exc_info()) from None
        if isinstance(info.get("entries"), list):
            info["entries"] = iter(info["entries"])
        return info

    def close(self) -> None:
        pass


class YtDlpClient:
    """Extraction with retries and one-line errors, plus the two downloads a YouTube ingest needs."""

    def __init__(
        self,
        extractor: Extractor,
        params: Mapping[str, Any],
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._extractor = extractor
        self._params = dict(params)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    def close(self) -> None:
        self._extractor.close()

    def _retrying(self, source: str, action: Callable[[], T]) -> T:
        for attempt in range(self._retry.attempts):
            try:
                return action()
            except AtlasError:
                raise  # already one line (or a missing dependency, which no retry fixes)
            except Exception as exc:  # yt-dlp raises many types; every one becomes one line
                problem = describe(exc)
                if problem.transient and attempt + 1 < self._retry.attempts:
                    _log.info("%s: %s; retrying", source, problem.message)
                    self._sleep(self._retry.delay(attempt))
                    continue
                tries = f" after {attempt + 1} tries" if problem.transient else ""
                raise SourceError(source, problem.message + tries, hint=problem.hint) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def info(self, url: str) -> Info:
        return self._retrying(url, lambda: self._extractor.extract(url))

    def entries(self, url: str, playlist: Info) -> Iterator[Info]:
        """The playlist's flat entries, fetched page by page as they are consumed. A transient failure while
        paging lists the playlist again and carries on after the entries already given."""
        listing: Iterator[Any] = iter(playlist.get("entries") or ())
        given = 0
        failures = 0
        while True:
            try:
                entry = next(listing)
            except StopIteration:
                return
            except Exception as exc:
                problem = describe(exc)
                if not problem.transient or failures + 1 >= self._retry.attempts:
                    raise SourceError(
                        url, f"listing stopped after {given} videos: {problem.message}", hint=problem.hint
                    ) from exc
                self._sleep(self._retry.delay(failures))
                failures += 1
                relisted = self.info(url)
                listing = iter(relisted.get("entries") or ())
                for _ in range(given):
                    next(listing, None)
                continue
            if isinstance(entry, dict):
                given += 1
                yield entry

    def fetch_captions(self, info: Info, track: CaptionTrack, directory: Path | None) -> str:
        """The caption track's text, fetched into a scratch folder under ``directory`` (the system's temporary
        folder when None) that is then removed. ``SourceError`` when it cannot be fetched (blocked, 403/404,
        offline)."""
        source = f"{info.get('webpage_url') or info['id']} captions ({track.language})"
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        subtitle = {**track.as_download(), "http_headers": info.get("http_headers") or {}}

        def fetch() -> bytes:
            with tempfile.TemporaryDirectory(dir=directory) as scratch:
                path = Path(scratch) / f"{info['id']}.{track.language}.vtt"
                with yt_dlp_module().YoutubeDL(self._params) as ydl:
                    ydl.dl(str(path), subtitle, subtitle=True)
                return path.read_bytes()

        return decode_transcript(self._retrying(source, fetch), source)

    def download_audio(
        self, info: Info, directory: Path, progress: Callable[[float, float | None], None]
    ) -> Path:
        """The best audio-only format (else the best format) as ``<directory>/<id>.<ext>``. A killed run
        leaves ``<id>.<ext>.part``; the next one resumes it (an HTTP range request), not starting over."""
        source = str(info.get("webpage_url") or info["id"])
        directory.mkdir(parents=True, exist_ok=True)

        def hook(status: Mapping[str, Any]) -> None:
            if status.get("status") in ("downloading", "finished"):
                total = status.get("total_bytes") or status.get("total_bytes_estimate")
                progress(float(status.get("downloaded_bytes") or 0), float(total) if total else None)

        params = {
            **self._params,
            "format": "bestaudio/best",
            "outtmpl": {"default": str(directory / "%(id)s.%(ext)s")},
            "progress_hooks": [hook],
            "continuedl": True,
            "nopart": False,
            "overwrites": False,
            "postprocessors": [],
            "fixup": "never",  # yt-dlp's container fixups run ffmpeg; PyAV reads the file as downloaded
            "writesubtitles": False,
            "writeautomaticsub": False,
        }

        def download() -> Path:
            with yt_dlp_module().YoutubeDL(params) as ydl:
                result = ydl.process_ie_result(dict(info), download=True)
            paths = [d.get("filepath") for d in (result or {}).get("requested_downloads") or ()]
            found = [Path(p) for p in paths if p and Path(p).is_file()]
            if not found:
                raise SourceError(source, "yt-dlp finished without an audio file")
            return found[0]

        return self._retrying(source, download)
