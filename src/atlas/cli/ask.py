"""atlas ask: a long-form answer from the library's moments, streamed as it is written, then checked, with its
sources (each a moment with its time and link). ``--json`` prints the Answer contract instead."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from atlas.answer.service import NOT_GENERATED
from atlas.cli.app import app
from atlas.cli.common import (
    AfterOpt,
    BeforeOpt,
    ChannelOpt,
    EmbedderOpt,
    JsonOpt,
    LibraryOpt,
    SpeakerOpt,
    StoreOpt,
    VideoOpt,
    err,
    open_library,
    out,
    search_filters,
)
from atlas.cli.search import require_videos
from atlas.cli.terminal import plain, shown
from atlas.limits import MAX_ASK_LIMIT
from atlas.models import Answer, AnswerDone, AnswerToken, AskOptions, Citation, MomentsFound
from atlas.search.links import format_moment


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="What to ask the library.")],
    generator: Annotated[
        str | None,
        typer.Option(
            "--generator",
            "-g",
            help="llama-cpp (the bundled local model; default when installed), extractive (quotes the "
            "moments, needs no model), openai-compatible, or a plugin's name.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="llama-cpp: qwen-1.5b (bundled, stronger, slower; scripts/install.sh answer-quality), "
            "qwen-0.5b (the default) or a .gguf file; openai-compatible: a model name.",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="OpenAI-compatible API root, e.g. http://127.0.0.1:11434/v1 (key: $ATLAS_OPENAI_API_KEY).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", help=f"Moments to read (default 6, at most {MAX_ASK_LIMIT}).", show_default=False
        ),
    ] = None,
    fallback: Annotated[
        bool, typer.Option("--fallback", help="If the generator fails, answer extractively instead.")
    ] = False,
    video: VideoOpt = None,
    channel: ChannelOpt = None,
    after: AfterOpt = None,
    before: BeforeOpt = None,
    speaker: SpeakerOpt = None,
    as_json: JsonOpt = False,
    library: LibraryOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Answer a question from the library's moments; every sentence cites a moment with its time."""
    filters = search_filters(video, channel, after, before, speaker)
    options = AskOptions(
        generator=generator, model=model, base_url=base_url, limit=limit, filters=filters, fallback=fallback
    )
    with open_library(library, embedder, store=store) as lib:
        require_videos(lib, filters)
        if not lib.list_videos():
            err.print("The library is empty: ingest something first, e.g. atlas ingest talk.vtt")
        events = lib.ask_stream(question, options)
        if as_json:
            answer = next(e.answer for e in events if isinstance(e, AnswerDone))
            sys.stdout.write(json.dumps(answer.to_json()) + "\n")
            return
        draft: list[str] = []
        for event in events:
            if isinstance(event, MomentsFound) and event.citations:
                err.print(f"[dim]Reading {len(event.citations)} moments…[/]")
            elif isinstance(event, AnswerToken):
                draft.append(event.text)
                sys.stdout.write(plain(event.text))  # a model may echo escapes from the transcripts
                sys.stdout.flush()
            elif isinstance(event, AnswerDone):
                _print_answer(event.answer, "".join(draft))


def _print_answer(answer: Answer, draft: str) -> None:
    if draft and not draft.endswith("\n"):
        sys.stdout.write("\n")
    if not answer.answered:
        if draft:
            out.print()
        out.print(plain(answer.text), markup=False)
        _print_sources("Closest moments", answer.citations)
    else:
        if " ".join(draft.split()) != " ".join(answer.text.split()):
            # The streamed draft is the model's; what it got wrong is replaced by quotes, shown only here.
            out.print(
                f"\n[bold]Checked answer[/] [dim](each sentence against its moments{_changes(answer)})[/]"
            )
            out.print(plain(answer.text), markup=False)
        cited = {n for s in answer.sentences for n in s.citations}
        _print_sources("Sources", tuple(c for c in answer.citations if c.number in cited))
    if answer.generator != NOT_GENERATED:
        out.print(f"[dim]Written by {shown(answer.generator)}[/]")


def _changes(answer: Answer) -> str:
    """What the check changed, e.g. ", 2 unsupported sentences removed, 1 quoted from the moments"."""
    removed = len(answer.dropped)
    quoted = sum(s.origin == "extracted" for s in answer.sentences)
    note = f", {removed} unsupported sentence{'s' * (removed != 1)} removed" if removed else ""
    if quoted and not answer.generator.startswith("extractive"):  # an extractive answer is all quotes
        note += f", {quoted} quoted from the moments"
    return note


def _print_sources(heading: str, citations: tuple[Citation, ...]) -> None:
    if not citations:
        return
    out.print(f"\n[bold]{heading}[/]")
    for citation in citations:
        hit = citation.hit
        when = format_moment(hit.moment) if hit.video.timed else "untimed"
        out.print(plain(f"[{citation.number}] {hit.video.title} — {when} — {hit.url}"), markup=False)
