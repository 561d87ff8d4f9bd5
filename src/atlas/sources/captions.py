"""Which YouTube caption track (if any) is trusted as a video's transcript.

The rule, in order (the first that exists wins; otherwise the audio is transcribed):

1. Manual captions in the video's own language: written or checked by a person and aligned with what is
   said, so better than any recogniser.
2. Manual captions in English: still human-made; an English index of a foreign-language video beats no
   trusted text at all, and English is what most users search in.
3. YouTube's automatic captions in the video's original language (its speech recogniser run on this very
   audio): about as good as Whisper tiny/base and free, with word times.
4. Nothing: transcribe with ASR. Auto-*translated* tracks are never used, manual or automatic: a machine
   translation of captions loses the words that were actually spoken, so a keyword search would miss them.

yt-dlp lists tracks per language key. Translated tracks are the ones whose URL carries ``tlang``; the
original automatic track also appears under ``<lang>-orig``. The video's language comes from yt-dlp's
``language`` field, else the audio formats' language, else the ``-orig`` key. When it is unknown, an only
manual language is taken as the video's (a video captioned in one language is almost always in it).
Only WebVTT is fetched (one parser, and the one that reads YouTube's rolling auto-captions word by word).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

CaptionKind = Literal["manual", "auto"]

_ORIGINAL_SUFFIX = "-orig"


@dataclass(frozen=True, slots=True)
class CaptionTrack:
    kind: CaptionKind
    language: str  # the track's language key as yt-dlp lists it, without "-orig" (en, en-GB, pt-BR)
    url: str
    name: str | None = None

    @property
    def origin(self) -> str:
        """Recorded as the transcript origin, e.g. ``youtube:manual:en`` or ``youtube:auto:de``."""
        return f"youtube:{self.kind}:{self.language}"

    def as_download(self) -> dict[str, Any]:
        """The subtitle dict yt-dlp's downloader takes."""
        return {"url": self.url, "ext": "vtt", "name": self.name}


def primary(language: str) -> str:
    """``en-GB`` -> ``en``, ``pt-BR`` -> ``pt``: tracks match a video's language by the primary subtag."""
    return language.split("-", 1)[0].lower()


def video_language(info: Mapping[str, Any]) -> str | None:
    """The language spoken in the video as far as the info dict tells (None when it does not)."""
    if isinstance(info.get("language"), str) and info["language"]:
        return str(info["language"])
    audio = [
        f
        for f in info.get("formats") or ()
        if f.get("acodec") not in (None, "none") and isinstance(f.get("language"), str)
    ]
    if audio:
        # The original audio track has the highest language_preference when a video has dubbed tracks.
        best = max(audio, key=lambda f: f.get("language_preference") or 0)
        return str(best["language"])
    for key in info.get("automatic_captions") or {}:
        if key.endswith(_ORIGINAL_SUFFIX):
            return str(key).removesuffix(_ORIGINAL_SUFFIX)
    return None


def _vtt_tracks(tracks: Mapping[str, Any] | None, kind: CaptionKind) -> Iterator[tuple[str, CaptionTrack]]:
    """(language key, WebVTT track) for every untranslated track, in yt-dlp's order."""
    for key, formats in (tracks or {}).items():
        for fmt in formats or ():
            url = fmt.get("url")
            if fmt.get("ext") != "vtt" or not isinstance(url, str):
                continue
            if "tlang" in parse_qs(urlsplit(url).query):
                continue  # machine-translated
            language = key.removesuffix(_ORIGINAL_SUFFIX)
            yield key, CaptionTrack(kind, language, url, fmt.get("name"))
            break


def _best_for(language: str, candidates: list[tuple[str, CaptionTrack]]) -> CaptionTrack | None:
    """The exact key (``en``) before a regional or named variant (``en-GB``, ``en-nP7-2PuUl7o``)."""
    matching = [(key, t) for key, t in candidates if primary(t.language) == primary(language)]
    for key, track in matching:
        if track.language.lower() == language.lower() and key == track.language:
            return track
    return matching[0][1] if matching else None


def choose_captions(info: Mapping[str, Any]) -> CaptionTrack | None:
    """The caption track to index, by the rule in the module docstring; None means transcribe the audio."""
    language = video_language(info)
    manual = [(k, t) for k, t in _vtt_tracks(info.get("subtitles"), "manual") if k != "live_chat"]
    if language is None and len({primary(t.language) for _, t in manual}) == 1:
        language = manual[0][1].language
    for wanted in (language, "en"):
        if wanted is not None and (track := _best_for(wanted, manual)) is not None:
            return track
    automatic = list(_vtt_tracks(info.get("automatic_captions"), "auto"))
    originals = [(k, t) for k, t in automatic if k.endswith(_ORIGINAL_SUFFIX)]
    if language is not None:
        return _best_for(language, originals) or _best_for(language, automatic)
    # Language unknown: every untranslated automatic track is the recogniser's output for this very audio;
    # the one YouTube marks as the original is preferred.
    untranslated = originals or automatic
    return untranslated[0][1] if untranslated else None
