"""The data that flows through Atlas, as frozen dataclasses.

Times are float seconds from the start of the media. ``None`` means *unknown* (a plain-text transcript has no
times); Atlas never invents a time to fill that gap.

    Transcript (segments, each with optional words)
        -> Sentence (a span of words with the times of the words actually in it)
        -> Window   (consecutive sentences, overlapping, what gets embedded and keyword-indexed)
        -> Hit      (a window that matched a query, pinned to its best sentence: ``moment``)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """One timed line of a transcript (a caption cue, a Whisper segment, a paragraph of plain text)."""

    text: str
    start: float | None = None
    end: float | None = None
    words: tuple[Word, ...] = ()
    speaker: str | None = None  # who says it, where the transcript names them (never part of ``text``)


@dataclass(frozen=True, slots=True)
class Transcript:
    """What a source yields: segments plus where they came from.

    ``origin`` records how the text was made: ``manual`` / ``auto`` captions, ``asr:<model>``, or
    ``file:<format>`` for a transcript file a user gave us.
    """

    segments: tuple[Segment, ...]
    origin: str
    language: str | None = None

    @property
    def timed(self) -> bool:
        return any(s.start is not None for s in self.segments)


# A YouTube video, a local media file (played from /media/{id}), a bare transcript file.
VideoKind = Literal["youtube", "media", "transcript"]


@dataclass(frozen=True, slots=True)
class Video:
    """A searchable item: a YouTube video, a local media file, or a bare transcript file."""

    video_id: str
    title: str
    source: str  # path or URL the content came from
    kind: VideoKind = "transcript"
    url: str | None = None  # canonical page / media URL, without a time fragment
    channel: str | None = None
    published: str | None = None  # ISO date YYYY-MM-DD
    duration: float | None = None
    thumbnail: str | None = None
    transcript_origin: str = "unknown"
    timed: bool = True
    content_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence (or a bounded slice of an unpunctuated caption stream) inside one video."""

    index: int
    text: str
    start: float | None
    end: float | None
    position: int  # index of the sentence's first word in the transcript's word stream
    speaker: str | None = None  # a speaker change always ends a sentence, so one sentence has one speaker


@dataclass(frozen=True, slots=True)
class Window:
    """Consecutive sentences embedded and indexed together.

    ``start``/``end`` come from the first and last sentence actually inside the window.
    ``first_sentence``/``last_sentence`` are inclusive sentence indexes.
    """

    index: int
    text: str
    start: float | None
    end: float | None
    first_sentence: int
    last_sentence: int


@dataclass(frozen=True, slots=True)
class SearchFilters:
    video_ids: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    after: str | None = None  # ISO date, inclusive
    before: str | None = None  # ISO date, inclusive
    # Only windows with a sentence by this speaker (exact name, case-insensitive); hits pin to their words.
    speaker: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.video_ids or self.channels or self.after or self.before or self.speaker)

    @classmethod
    def of(
        cls,
        video_ids: Iterable[str] | None = None,
        channels: Iterable[str] | None = None,
        after: date | str | None = None,
        before: date | str | None = None,
        speaker: str | None = None,
    ) -> SearchFilters:
        """Filters from what a face collected (lists, dates or checked ISO strings; None for no filter)."""
        name = " ".join(speaker.split()) if speaker else None
        return cls(tuple(video_ids or ()), tuple(channels or ()), _iso(after), _iso(before), name or None)


@dataclass(frozen=True, slots=True, kw_only=True)
class AskOptions:
    """How one question is answered; None keeps the library's answer settings (``AnswerSettings``)."""

    generator: str | None = None  # "llama-cpp", "extractive", "openai-compatible" or a plugin's name
    model: str | None = None  # llama-cpp: qwen-1.5b (bundled) or a .gguf; openai-compatible: a name
    base_url: str | None = None  # an OpenAI-compatible API root
    limit: int | None = None  # how many moments to read
    filters: SearchFilters | None = None
    fallback: bool = False  # answer extractively when the generator fails


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """What the user chose for one ingest (``atlas ingest``'s flags, ``POST /api/ingest``'s ``options``, by
    the same names). What sources need from the library besides is ``atlas.sources.base.SourceContext``."""

    # One target only: they name a single video.
    title: str | None = None
    video_id: str | None = None
    url: str | None = None  # the page or media URL the transcript belongs to
    channel: str | None = None
    published: str | None = None  # ISO date
    # Whisper model for media without trustworthy captions; None: tiny.en, or the multilingual base for a
    # video known to be in another language (atlas.asr.models.choose_model)
    asr_model: str | None = None
    force_asr: bool = False  # transcribe even when captions / sidecar subtitles exist
    # Whisper's beam width; None: atlas.asr.faster_whisper.BEAM_SIZE. 1 (greedy) trades accuracy for speed
    beam: int | None = None
    since: str | None = None  # playlists and channels: only videos published on/after this ISO date
    max_items: int | None = None  # playlists and channels: at most this many videos (newest first)
    refresh: bool = False  # re-fetch videos already in the library instead of skipping them


# How a long request reports as it goes: (stage, done, total), e.g. ("transcribe", 312.0, 3600.0) audio
# seconds, ("download", bytes, bytes or None).
ProgressFn = Callable[[str, float, float | None], None]


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a window of a video, pinned to the second a player should jump to."""

    video: Video
    window: Window
    moment: float | None
    snippet: str
    url: str
    score: float
    matched_terms: tuple[str, ...] = ()
    position: int = 0  # word offset of the pinned sentence: where an untimed hit sits in its transcript
    speaker: str | None = None  # who says the pinned sentence, where the transcript names speakers

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` / HTTP contract for a hit (later tools depend on these keys)."""
        return {
            "video_id": self.video.video_id,
            "title": self.video.title,
            "source": self.video.source,
            "channel": self.video.channel,
            "published": self.video.published,
            "start": self.window.start,
            "end": self.window.end,
            "moment": self.moment,
            "timed": self.video.timed,
            "text": self.window.text,
            "snippet": self.snippet,
            "url": self.url,
            "score": round(self.score, 6),
            "transcript_origin": self.video.transcript_origin,
            "matched_terms": list(self.matched_terms),
            "position": self.position,
            "speaker": self.speaker,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """A moment an answer cites as ``[number]``: the hit resolves to a video and a deep link with time."""

    number: int
    hit: Hit

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, **self.hit.to_json()}


SentenceOrigin = Literal["generated", "extracted"]


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """One sentence of an answer with the moments it cites and whether those moments support it."""

    text: str  # the sentence as shown, without its ``[n]`` markers
    citations: tuple[int, ...]  # citation numbers, in the order written
    supported: bool  # the cited passages back the sentence (support >= the checker's threshold)
    support: float  # the checker's score in [0, 1]
    # "generated": written by the model; "extracted": quoted from a moment (the extractive generator, or the
    # fallback that stands in for generated sentences the moments did not support).
    origin: SentenceOrigin = "generated"

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "supported": self.supported,
            "support": round(self.support, 4),
            "origin": self.origin,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """A long-form answer stitched from retrieved moments; ``answered`` is False when the library holds no
    answer (then ``text`` says so instead of inventing one)."""

    question: str
    text: str  # as shown to the user, with ``[n]`` markers; unsupported sentences already dropped
    sentences: tuple[AnswerSentence, ...]
    # every moment given to the generator, numbered as in the prompt, then any the extractive fallback quoted
    citations: tuple[Citation, ...]
    generator: str  # e.g. "llama.cpp/qwen2.5-0.5b-instruct-q4_k_m", "extractive"
    answered: bool
    dropped: tuple[str, ...] = ()  # generated sentences removed: unsupported, or missing the question

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "answered": self.answered,
            "generator": self.generator,
            "sentences": [s.to_json() for s in self.sentences],
            "citations": [c.to_json() for c in self.citations],
            "dropped": list(self.dropped),
        }


# What ``Library.ask_stream`` yields, in this order: the moments once retrieved, tokens as they are
# generated, then the checked answer. The CLI prints tokens as they come; the HTTP API sends them as SSE.
@dataclass(frozen=True, slots=True)
class MomentsFound:
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class AnswerToken:
    text: str


@dataclass(frozen=True, slots=True)
class AnswerDone:
    answer: Answer


AnswerEvent = MomentsFound | AnswerToken | AnswerDone


def _iso(day: date | str | None) -> str | None:
    return day.isoformat() if isinstance(day, date) else day or None
