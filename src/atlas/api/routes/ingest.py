"""POST /api/ingest queues a background job (202 + its id); GET /api/jobs/{id} reports its progress,
GET /api/jobs lists recent jobs, DELETE /api/jobs/{id} cancels one (a write, behind the ingest's gate)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from atlas.api.context import Context, WriterContext
from atlas.api.jobs import summarize
from atlas.api.schemas import ErrorOut, IngestIn, IngestOptionsIn, JobOut, JobSummaryOut
from atlas.api.security import PathPolicy, check_asr_model, is_url
from atlas.config import ServeSettings
from atlas.errors import UserInputError
from atlas.ingest_report import ItemOutcome
from atlas.models import IngestOptions
from atlas.sources.base import SourceContext
from atlas.sources.registry import all_sources, expand_targets
from atlas.sources.validate import check_options

router = APIRouter(prefix="/api", tags=["ingest"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 401, 403, 413, 415)}


@router.post("/ingest", status_code=202, response_model=JobOut, responses=_ERRORS)
def ingest(context: WriterContext, body: IngestIn, response: Response) -> dict[str, Any]:
    """Queue URLs and absolute paths (inside the server's allowed directories) for ingesting.

    Answers at once with the job; poll ``GET /api/jobs/{id}`` (also in the ``Location`` header)."""
    if (body.options.title or body.options.video_id is not None) and len(body.targets) > 1:
        raise UserInputError("title and video_id name one video", hint="send a single target with them")
    options = ingest_options(body.options, context.serve)
    check_options(options, id_flag="video_id", url_flag="url")  # 400 now, not a failed job later
    targets, refused = expand_checked([context.paths.check_target(t) for t in body.targets], context.paths)
    # Local files are read only from the allowed directories, checked again on each file as the job opens
    # it (sources/safe_open.py).
    job = context.jobs.submit(targets, options, refused, SourceContext(allowed_dirs=context.paths.allowed))
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return job.snapshot()


@router.get("/jobs", response_model=list[JobSummaryOut], responses={400: {"model": ErrorOut}})
def list_jobs(
    context: Context,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many jobs")] = 100,
) -> list[dict[str, Any]]:
    """Recent ingest jobs, newest first: the queued and running ones and the last 200 finished ones (kept
    across restarts), each with its outcome counts; ``GET /api/jobs/{id}`` has the details."""
    return [summarize(job.snapshot()) for job in context.jobs.recent(limit)]


@router.get("/jobs/{job_id}", response_model=JobOut, responses={404: {"model": ErrorOut}})
def get_job(context: Context, job_id: str) -> dict[str, Any]:
    """A job's state (queued, running, done, failed, cancelled, interrupted), progress, outcomes."""
    return context.jobs.get(job_id).snapshot()


@router.delete(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses={
        200: {"description": "the job was queued and is now cancelled"},
        202: {"description": "the job is running; it stops at its next stage (poll it)", "model": JobOut},
        **{code: {"model": ErrorOut} for code in (401, 403, 404, 409)},
    },
)
def cancel_job(context: WriterContext, job_id: str, response: Response) -> dict[str, Any]:
    """Cancel a queued or running job (a write). A queued job is cancelled at once (200). A running one
    stops at its next stage (202): the videos it finished stay in, the one it was on is not written at all.
    A finished job answers 409."""
    job = context.jobs.cancel(job_id)
    snapshot = job.snapshot()
    response.status_code = 200 if snapshot["state"] == "cancelled" else 202
    return snapshot


def expand_checked(targets: list[str], paths: PathPolicy) -> tuple[list[str], list[ItemOutcome]]:
    """Folders become the files inside them, each checked again after resolving: a symlink in an allowed
    folder that points elsewhere is refused (reported as a failed item; the other files still go in)."""
    accepted: list[str] = []
    refused: list[ItemOutcome] = []
    sources = all_sources()
    for target in targets:
        if is_url(target):
            accepted.append(target)
            continue
        for child in expand_targets([target], sources):
            if paths.inside(Path(child)):
                accepted.append(str(Path(child).resolve()))
            else:
                message = f"{child}: resolves outside the directories this server may read"
                refused.append(ItemOutcome(child, "failed", message=message))
    return accepted, refused


def ingest_options(options: IngestOptionsIn, serve: ServeSettings) -> IngestOptions:
    """The job's options: the client's, by the same names, with dates as ISO strings and the model name
    checked against those this server offers."""
    fields: dict[str, Any] = {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in options.model_dump().items()
    }
    chosen = IngestOptions(**fields)
    return replace(chosen, asr_model=check_asr_model(chosen.asr_model, serve))
