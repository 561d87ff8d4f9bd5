"""The YouTube source: a video, a playlist or a channel URL becomes videos with transcripts.

Per video: the metadata from yt-dlp's info dict; the transcript from trusted captions (``captions.py`` says
which), else from the audio, downloaded by yt-dlp and transcribed by ``atlas.asr``. Captions that cannot be
fetched (blocked, 403/404, offline) or hold no text fall back to ASR; that never fails the video.

Playlists and channels are listed flat and lazily, so a killed run keeps every video it finished and a re-run
fetches only the rest: entries the library already holds are skipped before anything is fetched. ``--since``
needs each video's upload date, which flat entries usually lack, so it is checked on the full info; a
channel's videos tab is newest first, so the first video older than ``--since`` ends its listing. ``--max``
counts videos from the top of the list, already-indexed ones included, so ``--max 200`` always means "the
newest 200". A playlist or channel that lists successfully is reported (``SourceListed``, before its videos):
the library follows it for ``atlas update``.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from atlas.errors import SourceError
from atlas.models import IngestOptions, Transcript, Video
from atlas.sources import ytdlp
from atlas.sources.base import (
    Ingestible,
    SourceContext,
    SourceFailure,
    SourceItem,
    SourceListed,
    SourceSkipped,
)
from atlas.sources.captions import choose_captions, primary, video_language
from atlas.sources.formats import WebVTTFormat
from atlas.sources.ytdlp import ExtractorFactory, Info, RetryPolicy, YtDlpClient
from atlas.youtube_urls import YouTubeTarget, looks_like_url, parse_youtube_url, youtube_watch_url

Item = Ingestible | SourceSkipped | SourceFailure  # what one video becomes

_ALREADY_INDEXED = "already in the library (--refresh fetches it again)"
_NOT_AIRED = {"is_live": "live now", "is_upcoming": "not aired yet"}


class _Reading(NamedTuple):
    """One target being read: its yt-dlp client, the user's options and the library's context."""

    client: YtDlpClient
    options: IngestOptions
    context: SourceContext


class YouTubeSource:
    """Accepts URLs only (never a local path), so it cannot shadow the file sources; a URL that is not
    YouTube's gets one line saying so rather than "no such file"."""

    name: str = "youtube"

    def __init__(
        self,
        extractor_factory: ExtractorFactory | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._extractor_factory = extractor_factory
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    def accepts(self, target: str) -> bool:
        return looks_like_url(target)

    def items(self, target: str, options: IngestOptions, context: SourceContext) -> Iterator[SourceItem]:
        try:
            parsed = parse_youtube_url(target)
        except SourceError as exc:
            yield SourceFailure(exc)
            return
        params = ytdlp.base_params(context.cache_dir, self._retry)
        factory = self._extractor_factory or ytdlp.create_extractor  # looked up now: tests replace it
        client = YtDlpClient(factory(params), params, retry=self._retry, sleep=self._sleep)
        reading = _Reading(client, options, context)
        try:
            if parsed.kind == "video":
                yield from self._single(parsed, reading)
            else:
                yield from self._listing(parsed, reading)
        finally:
            client.close()

    def _single(self, target: YouTubeTarget, reading: _Reading) -> Iterator[Item]:
        if _indexed(target.id, reading):
            yield SourceSkipped(target.id, None, _ALREADY_INDEXED)
            return
        try:
            yield _ingestible(reading.client.info(target.url), reading, user_metadata=True)
        except SourceError as exc:
            yield SourceFailure(exc)

    def _listing(self, target: YouTubeTarget, reading: _Reading) -> Iterator[SourceItem]:
        client, options = reading.client, reading.options
        try:
            listing = client.info(target.url)
        except SourceError as exc:
            yield SourceFailure(exc)
            return
        if listing.get("_type") != "playlist":  # e.g. a channel's /live URL that is one video
            yield _video_item(listing, reading)
            return
        yield SourceListed(
            target.url, "channel" if target.kind == "channel" else "playlist", listing.get("title")
        )
        newest_first = target.kind == "channel"
        taken = 0
        try:
            for entry in client.entries(target.url, listing):
                if options.max_items is not None and taken >= options.max_items:
                    return
                item = _entry_item(entry, reading)
                if item is None:
                    continue
                if isinstance(item, _BeforeSince):
                    if newest_first:
                        return
                    reason = f"published {item.published}, before --since {options.since}"
                    yield SourceSkipped(item.video_id, item.title, reason)
                    continue
                taken += 1
                yield item
        except SourceError as exc:  # the listing itself broke off; what was yielded stays ingested
            yield SourceFailure(exc)


@dataclass(frozen=True, slots=True)
class _BeforeSince:
    video_id: str
    title: str | None
    published: str


def _entry_item(entry: Info, reading: _Reading) -> Item | _BeforeSince | None:
    """What one flat playlist entry becomes; None for an entry that is not a video (a nested playlist)."""
    video_id, title = entry.get("id"), entry.get("title")
    if not isinstance(video_id, str) or entry.get("ie_key") not in (None, "Youtube"):
        return None
    if (state := entry.get("live_status")) in _NOT_AIRED:
        return SourceSkipped(video_id, title, f"{_NOT_AIRED[state]}; ingest it after it has aired")
    published = published_date(entry)  # flat entries rarely carry one
    if published is not None and _before_since(published, reading.options):
        return _BeforeSince(video_id, title, published)
    if _indexed(video_id, reading):
        return SourceSkipped(video_id, title, _ALREADY_INDEXED)
    try:
        info = reading.client.info(youtube_watch_url(video_id))
    except SourceError as exc:
        return SourceFailure(exc)
    published = published_date(info)
    if published is not None and _before_since(published, reading.options):
        return _BeforeSince(video_id, info.get("title") or title, published)
    return _video_item(info, reading)


def _indexed(video_id: str, reading: _Reading) -> bool:
    is_indexed = reading.context.is_indexed
    return not reading.options.refresh and is_indexed is not None and is_indexed(video_id)


def _before_since(published: str, options: IngestOptions) -> bool:
    return options.since is not None and published < options.since


def _video_item(info: Info, reading: _Reading) -> Item:
    try:
        return _ingestible(info, reading, user_metadata=False)
    except SourceError as exc:
        return SourceFailure(exc)


def _ingestible(info: Info, reading: _Reading, *, user_metadata: bool) -> Ingestible:
    """One video's metadata and transcript; ``user_metadata``: --title/--channel/--date apply (one video)."""
    url = youtube_watch_url(str(info["id"]))
    if (state := info.get("live_status")) in _NOT_AIRED:
        raise SourceError(url, f"this video is {_NOT_AIRED[state]}", hint="ingest it after it has aired")
    transcript, notes = _transcript(info, reading)
    video = video_from_info(info, transcript, reading.options if user_metadata else None)
    return Ingestible(video=replace(video, extra={**video.extra, **notes}), transcript=transcript)


def _transcript(info: Info, reading: _Reading) -> tuple[Transcript, dict[str, str]]:
    """Trusted captions when there are some that can be fetched and hold text; else the audio through ASR.
    The notes (kept in ``Video.extra``) say why ASR was used."""
    client, options, context = reading
    if options.force_asr:
        return _transcribe(info, reading), {"asr_reason": "--force-asr"}
    track = choose_captions(info)
    if track is None:
        return _transcribe(info, reading), {"asr_reason": "no trusted captions"}
    context.report("captions", 0, 1)
    try:
        scratch = context.cache_dir / "youtube" if context.cache_dir is not None else None
        text = client.fetch_captions(info, track, scratch)
        source = f"{youtube_watch_url(str(info['id']))} captions ({track.language})"
        segments = tuple(s for s in WebVTTFormat().parse(text, source) if s.text.strip())
    except SourceError as exc:
        return _transcribe(info, reading), {"asr_reason": f"captions failed: {exc.message}"}
    context.report("captions", 1, 1)
    if not segments:
        return _transcribe(info, reading), {"asr_reason": f"{track.origin} captions hold no text"}
    return Transcript(segments, track.origin, language=primary(track.language)), {}


def _transcribe(info: Info, reading: _Reading) -> Transcript:
    """Download the best audio into the cache (resumable), transcribe it, then drop the audio: the
    transcript is cached under ``youtube:<id>``, so the audio is not needed again."""
    from atlas.asr import transcribe_file

    client, options, context = reading
    with contextlib.ExitStack() as stack:
        cache = context.cache_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        audio = client.download_audio(
            info, cache / "youtube", lambda done, total: context.report("download", done, total)
        )
        transcript = transcribe_file(
            audio, context.transcribing(options), key=f"youtube:{info['id']}", language=video_language(info)
        )
        audio.unlink(missing_ok=True)
        return transcript


def published_date(info: Mapping[str, Any]) -> str | None:
    """The upload date as ISO YYYY-MM-DD (yt-dlp gives YYYYMMDD, or only a timestamp)."""
    for key in ("upload_date", "release_date"):
        value = info.get(key)
        if isinstance(value, str) and len(value) == 8 and value.isdigit():
            return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    for key in ("timestamp", "release_timestamp"):
        value = info.get(key)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC).date().isoformat()
    return None


def _thumbnail(info: Mapping[str, Any]) -> str | None:
    if isinstance(info.get("thumbnail"), str):
        return str(info["thumbnail"])
    # yt-dlp orders thumbnails worst to best.
    urls = [t["url"] for t in info.get("thumbnails") or () if isinstance(t.get("url"), str)]
    return urls[-1] if urls else None


def video_from_info(info: Mapping[str, Any], transcript: Transcript, options: IngestOptions | None) -> Video:
    """A ``Video`` from yt-dlp's info dict; ``options`` (one video only) override title/channel/date."""
    video_id = str(info["id"])
    url = youtube_watch_url(video_id)
    duration = info.get("duration")
    extra: dict[str, Any] = {
        key: info[key] for key in ("channel_id", "channel_url", "uploader_id") if info.get(key)
    }
    if language := video_language(info):
        extra["language"] = language
    return Video(
        video_id=video_id,
        title=(options and options.title) or str(info.get("title") or video_id),
        source=url,
        kind="youtube",
        url=url,
        channel=(options and options.channel) or info.get("channel") or info.get("uploader"),
        published=(options and options.published) or published_date(info),
        duration=float(duration) if isinstance(duration, int | float) else None,
        thumbnail=_thumbnail(info),
        transcript_origin=transcript.origin,
        timed=transcript.timed,
        extra=extra,
    )
