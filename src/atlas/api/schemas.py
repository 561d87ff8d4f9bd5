"""Request and response bodies (they make the OpenAPI document at /docs).

The ``*Out`` models only declare the response shapes. What builds each one, shared with the CLI's ``--json``:
``atlas.views`` (videos, video records, ingest outcomes), ``models.Hit.to_json`` and ``Answer.to_json``,
``chapters.service.Chapters.to_json``, and ``api.jobs`` (jobs, which only the API shows).
tests/api/test_schema_agreement.py checks, shape by shape, that each builder's output validates against its
model and has exactly its fields.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, create_model

from atlas.ids import VIDEO_ID_PATTERN
from atlas.ingest_report import STATUSES, Status
from atlas.limits import MAX_ASK_LIMIT, MAX_QUERY_CHARS
from atlas.models import VideoKind
from atlas.sources.validate import WEB_URL_PATTERN

MAX_TARGETS = 100
MAX_TARGET_CHARS = 4096

JobState = Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]
FINISHED_STATES: frozenset[str] = frozenset(("done", "failed", "cancelled", "interrupted"))
JOB_STATE_HELP = (
    "queued: waiting for the job before it; running; done: every target has an outcome; failed: the whole "
    "job stopped (error says why); cancelled: stopped by DELETE /api/jobs/{id} or a server shutdown (error "
    "says which), between stages, so no video is half-written; interrupted: the server was killed or crashed "
    "while the job was queued or running (found at the next start; submit the targets again)"
)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD``, as the document says (``format: date``): pydantic alone also reads a number as
    a Unix time, so ``after=0`` meant 1970-01-01 and ``since: 86400`` meant 1970-01-02."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("a date is written YYYY-MM-DD, e.g. 2024-03-01")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
# What the server's own checks accept (security.PathPolicy.check_target, sources/validate.py), stated in the
# document so that clients and fuzzers know; the checks, not pydantic, enforce them, with their own messages.
VIDEO_ID_DOCUMENTED = f"^{VIDEO_ID_PATTERN}$"
TARGET_PATTERN = r"^\s*(?:[Hh][Tt][Tt][Pp][Ss]?://|/)[^\x00]*$"
# Some character that is not white space as Python's str.split() sees it: a query or question of only white
# space is refused as empty (400). Written out, because JSON Schema's (ECMA's) \s is another set (it lacks
# U+001C-U+001F and U+0085, and has U+FEFF).
NOT_BLANK_PATTERN = r"[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently ignored


class ErrorDetail(BaseModel):
    code: str = Field(examples=["bad_input"])
    message: str
    hint: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class HitOut(BaseModel):
    video_id: str
    title: str
    source: str
    channel: str | None
    published: str | None
    start: float | None = Field(description="the window's start in seconds; null when untimed")
    end: float | None
    moment: float | None = Field(description="the second a player should jump to; null when untimed")
    timed: bool
    text: str = Field(description="the whole window text")
    snippet: str = Field(description="the best-matching sentence, grown to a readable length")
    url: str = Field(description="deep link with the time: &t=123s (YouTube) or #t=123 (files)")
    score: float
    transcript_origin: str
    matched_terms: list[str]
    position: int = Field(description="word offset of the pinned sentence (locates untimed hits)")
    speaker: str | None = Field(
        None, description="who says the pinned sentence, where the transcript names speakers; else null"
    )


class VideoOut(BaseModel):
    video_id: str
    title: str
    source: str
    # A plain string in the document (as before), its values named from the one definition.
    kind: str = Field(description=" | ".join(get_args(VideoKind)))
    url: str | None
    channel: str | None
    published: str | None
    duration: float | None
    thumbnail: str | None = Field(description="an https image URL when known")
    youtube_id: str | None = Field(description="the id to embed a YouTube player with")
    transcript_origin: str
    timed: bool
    media_url: str | None = Field(description="/media/{id} for a local media file, else null")
    media_type: Literal["audio", "video"] | None


class SearchOut(BaseModel):
    query: str
    hits: list[HitOut]
    videos: dict[str, VideoOut] = Field(description="every video a hit belongs to, by id (for players)")
    highlights: list[list[str]] = Field(
        description="per hit, the snippet's words that matched a query term (lower-cased), to mark"
    )


class SegmentOut(BaseModel):
    start: float | None
    end: float | None
    text: str
    speaker: str | None = Field(None, description="who says it, where the transcript names speakers")


class VideoDetailOut(VideoOut):
    language: str | None
    windows: int
    sentences: int
    segments: list[SegmentOut]


class IngestOptionsIn(_In):
    """The options of ``atlas ingest``."""

    title: str | None = Field(None, max_length=500, description="one target only")
    video_id: str | None = Field(
        None,
        max_length=200,
        description="one target only",
        json_schema_extra={"pattern": VIDEO_ID_DOCUMENTED},
    )
    url: str | None = Field(None, max_length=MAX_TARGET_CHARS, json_schema_extra={"pattern": WEB_URL_PATTERN})
    channel: str | None = Field(None, max_length=500)
    published: IsoDate | None = None
    asr_model: str | None = Field(
        None, max_length=200, description="default: tiny.en, or base for a video known not to be in English"
    )
    # Strict: JSON says true or false; a 0 or "yes" taken as a bool is a request the schema forbids.
    force_asr: StrictBool = False
    beam: int | None = Field(None, ge=1, le=10, description="Whisper beam width; default 3, 1 is faster")
    since: IsoDate | None = None
    max_items: int | None = Field(None, ge=1, le=10_000)
    refresh: StrictBool = False


class IngestIn(_In):
    # The route's own check, stated in the document: a title or video_id names one video, so it comes with
    # a single target (the schema's ``if``/``then``; pydantic models cannot say it).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {
                "required": ["options"],
                "properties": {
                    "options": {
                        "anyOf": [
                            {
                                "required": ["title"],
                                "properties": {"title": {"type": "string", "minLength": 1}},
                            },
                            {"required": ["video_id"], "properties": {"video_id": {"type": "string"}}},
                        ]
                    }
                },
            },
            "then": {"properties": {"targets": {"maxItems": 1}}},
        },
    )

    targets: list[Annotated[str, Field(json_schema_extra={"pattern": TARGET_PATTERN})]] = Field(
        min_length=1,
        max_length=MAX_TARGETS,
        description="http(s) URLs, or absolute paths inside the server's allowed directories",
    )
    options: IngestOptionsIn = Field(default_factory=IngestOptionsIn)  # type: ignore[arg-type]


class OutcomeOut(BaseModel):
    target: str
    status: Status
    video_id: str | None
    title: str | None
    windows: int
    message: str | None
    warnings: list[str] = Field(default_factory=list, description="what was fixed or left out (cue times)")


class StageOut(BaseModel):
    target: str
    stage: str = Field(description="read, download, transcribe, chunk, embed, index, ...")
    done: float | None = None
    total: float | None = None


class ProgressOut(BaseModel):
    targets_total: int
    targets_finished: int
    current: StageOut | None


class _JobFields(BaseModel):
    """What a job's full view and its line in the list both show."""

    id: str
    state: JobState = Field(description=JOB_STATE_HELP)
    targets: list[str]
    created_at: float = Field(description="Unix time")
    started_at: float | None
    finished_at: float | None
    error: ErrorDetail | None = Field(
        description="why the whole job failed or was cancelled (code 'cancelled'), when it was"
    )
    cancel_requested: bool = Field(
        False, description="DELETE /api/jobs/{id} or a shutdown asked it to stop; it stops at its next stage"
    )


class JobOut(_JobFields):
    progress: ProgressOut
    outcomes: list[OutcomeOut]


# One count per status (ingest_report.STATUSES, in its order), built from the one list of statuses.
_COUNT_FIELDS: dict[str, Any] = {status: (int, 0) for status in STATUSES}
OutcomeCountsOut: type[BaseModel] = create_model("OutcomeCountsOut", **_COUNT_FIELDS)


class JobSummaryOut(_JobFields):
    """A job in the list of ``GET /api/jobs``: ``GET /api/jobs/{id}`` has its progress and outcomes."""

    targets_total: int
    targets_finished: int
    # mypy cannot see a built class as a type; pydantic reads the annotation at runtime.
    counts: OutcomeCountsOut = Field(description="outcomes so far, by status")  # type: ignore[valid-type]


class AskIn(_In):
    question: str = Field(
        min_length=1, max_length=MAX_QUERY_CHARS, json_schema_extra={"pattern": NOT_BLANK_PATTERN}
    )
    generator: str | None = Field(None, min_length=1, max_length=200, description="default: the server's")
    # Only the bundled models by name (atlas.answer.llama_cpp.NAMED_MODELS): a client never names a file.
    model: Literal["qwen-0.5b", "qwen-1.5b"] | None = Field(
        None, description="a bundled local model (llama-cpp); qwen-1.5b is slower, its parts installed apart"
    )
    limit: int | None = Field(None, ge=1, le=MAX_ASK_LIMIT, description="moments to retrieve")
    video: list[str] = Field(default_factory=list, max_length=100)
    channel: list[str] = Field(default_factory=list, max_length=100)
    after: IsoDate | None = None
    before: IsoDate | None = None
    speaker: str | None = Field(
        None, max_length=200, description="only moments said by this speaker (exact name, any case)"
    )
    fallback: StrictBool = Field(
        False, description="fall back to an extractive answer if the model is missing"
    )


class CitationOut(HitOut):
    number: int


class AnswerSentenceOut(BaseModel):
    text: str
    citations: list[int]
    supported: bool
    support: float
    origin: Literal["generated", "extracted"] = Field(
        "generated", description="generated: written by the model; extracted: quoted from the cited moment"
    )


class AnswerOut(BaseModel):
    question: str
    answer: str
    answered: bool
    generator: str
    sentences: list[AnswerSentenceOut]
    citations: list[CitationOut]
    dropped: list[str]


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    library: str
    videos: int
    windows: int
    embedder: str | None
    writes: Literal["token", "loopback", "disabled"] = Field(
        description="token: writes need the bearer token; loopback: open to this machine; disabled: read-only"
    )
