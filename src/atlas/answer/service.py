"""What ``Library.ask`` / ``Library.ask_stream`` do: a question in, a checked answer out, whose every
sentence cites a moment. The moments come from a ``Retriever`` (retriever.py), which the library is.

    question ─► parts ─► search each ─► passages (merged in turn, de-duplicated) ─► answerable?
             ─► evidence (several parts: the sentences that answer) ─► generator ─► pack to its context
             ─► MomentsFound ─► AnswerToken* (as generated) ─► parse [n] ─► support check ─► AnswerDone

A question that asks several things ("what is X, and how much does Y cost?") is cut into its parts
(parts.py); the question and each part are searched on their own and the moments are merged in turn, search
by search, so every part reaches the generator. Each passage of such a question is then cut to its evidence,
the sentences that answer the question or a part best with a neighbour for context (packing.evidence), so a
small model reads the lines that answer each part within its context. A question that asks one thing reads
whole windows: cut to their evidence, they lost facts on the answer benchmark's dev split (extractive 13 of 30
single-part facts to 12, the bundled 0.5B 13 to 10; benchmarks/README.md "Answers").
``AnswerSettings.question_parts=False`` searches every question whole and reads whole windows, as before.

A model reads each passage without the lines that touch neither the question nor a part of it
(``packing.on_question``): the bundled 0.5B copies what it reads, and copied off-question lines were what the
support check dropped most (benchmarks/README.md, Answers).

Generated sentences that fail the support check, or leave part of the question unanswered, are made up for
by supported quotes from the moments (fallback.py), so a model answer is never worse than the extractive one.
The library says when it holds no answer instead of inventing one: no moments match, the best moments are
about something else, or neither the generated sentences nor the quotes survive the support check (or
address the question). Each case gives ``answered=False`` and a sentence saying which.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from atlas.answer.base import AnswerRequest, Generator, Passage, Query, Vector
from atlas.answer.citations import cite, loops, parse_answer, render_answer, until_repeat
from atlas.answer.extractive import ExtractiveGenerator
from atlas.answer.fallback import MIN_ANSWER_FOCUS, mend
from atlas.answer.packing import evidence, gather_passages, on_question, pack, relevance
from atlas.answer.parts import search_text, split_question
from atlas.answer.prompt import build_messages
from atlas.answer.registry import EXTRACTIVE, GeneratorCache, generator_for, generator_name
from atlas.answer.retriever import Retriever
from atlas.answer.support import SupportChecker
from atlas.config import AnswerSettings
from atlas.embedding.base import Embedder
from atlas.errors import AtlasError, UserInputError
from atlas.limits import MAX_ASK_LIMIT, MAX_QUERY_CHARS
from atlas.models import (
    Answer,
    AnswerDone,
    AnswerEvent,
    AnswerToken,
    AskOptions,
    Citation,
    Hit,
    MomentsFound,
    SearchFilters,
)

# A passage's relevance is the cosine of its best span to the question (packing.spans). With MiniLM, on 16
# probe questions, moments that answered scored 0.44 and up; the closest moments to questions about other
# subjects (baking, football, vaccines) stayed at or under 0.34.
MIN_ANSWER_RELEVANCE = 0.4
# Moments far weaker than the best one are mostly noise to a small model; they are not offered.
RELEVANCE_SPREAD = 0.3

NO_MOMENTS = "The library holds no moments that match this question."
OFF_TOPIC = "The library does not seem to contain an answer: the closest moments are about something else."
UNVERIFIED = (
    "No answer could be checked against the moments found: neither the generated sentences nor quotes from "
    "the moments were supported by the moments they cite, so none is shown."
)
OFF_QUESTION = (
    "No answer is shown: the sentences that the moments support, generated or quoted, do not address the "
    "question."
)
NOT_GENERATED = "none"
# A piece of generated text that may finish a sentence: only then can the draft have started repeating itself.
_MAY_END_SENTENCE = re.compile(r"[.!?…\]\n]")


def ask(
    retriever: Retriever,
    settings: AnswerSettings,
    question: str,
    options: AskOptions,
    loaded: GeneratorCache | None = None,
) -> Answer:
    """``ask_stream`` run to its end."""
    for event in ask_stream(retriever, settings, question, options, loaded):
        if isinstance(event, AnswerDone):
            return event.answer
    raise AssertionError("ask_stream always ends with AnswerDone")  # pragma: no cover


def ask_stream(
    retriever: Retriever,
    settings: AnswerSettings,
    question: str,
    options: AskOptions,
    loaded: GeneratorCache | None = None,
) -> Iterator[AnswerEvent]:
    """The events of one answer, from ``retriever``'s moments; ``settings`` are the library's, which
    ``options`` override for this call. ``loaded``: the caller's loaded generators (the Library's), reused;
    without it the generator is created for this answer. Bad input (an empty question, a misspelt
    generator) raises here, before the first event, so an HTTP face can answer 400 instead of opening a
    stream."""
    question = " ".join(question.split())
    _validate(question, options.limit)
    settings = _settings(settings, options)
    generator_name(settings)
    return _events(retriever, question, settings, options.filters, options.fallback, loaded)


def _events(
    retriever: Retriever,
    question: str,
    settings: AnswerSettings,
    filters: SearchFilters | None,
    fallback: bool,
    loaded: GeneratorCache | None,
) -> Iterator[AnswerEvent]:
    parts = split_question(question) if settings.question_parts else (question,)
    found = _moments(retriever, question, parts, settings.limit, filters)
    if found is None:
        yield MomentsFound(())
        yield AnswerDone(_unanswered(question, (), NO_MOMENTS))
        return
    question_vector, queries, candidates = found
    embedder = retriever.embedder
    best = max(p.relevance for p in candidates)
    if best < MIN_ANSWER_RELEVANCE:
        closest = _citations(candidates)
        yield MomentsFound(closest)
        yield AnswerDone(_unanswered(question, closest, OFF_TOPIC))
        return
    candidates = _within_spread(candidates, queries)
    if queries:  # several parts: each window is cut to the lines that answer the question or a part
        evidence_for = [Query(question, question_vector), *queries]
        candidates = [evidence(p, evidence_for) for p in candidates]

    writer, label = _writer(settings, fallback, loaded)
    read = candidates
    if not isinstance(writer, ExtractiveGenerator):  # a model reads only the lines near the question
        read = [on_question(p, [question_vector, *(q.vector for q in queries)]) for p in candidates]
    passages = pack(
        read,
        question=question,
        count_tokens=writer.count_tokens,
        context_tokens=writer.context_tokens,
        answer_tokens=settings.max_answer_tokens,
    )
    citations = _citations(passages)
    yield MomentsFound(citations)
    request = AnswerRequest(
        question,
        question_vector,
        passages,
        build_messages(question, passages),
        settings.max_answer_tokens,
        parts=tuple(queries),
    )
    pieces: list[str] = []
    extracted = isinstance(writer, ExtractiveGenerator)
    stream: Iterator[str] | None = None
    try:
        stream = writer.stream(request)
        for piece in stream:
            pieces.append(piece)
            yield AnswerToken(piece)
            if not extracted and _MAY_END_SENTENCE.search(piece) and loops("".join(pieces)):
                break  # the model repeats itself, and would until its token budget ran out
    except AtlasError as exc:
        if not fallback or extracted:
            raise
        label = _fallback_label(writer.name, exc)
        if pieces:
            yield AnswerToken("\n\n")  # what streamed so far is abandoned; the extract starts afresh
        pieces = []
        extracted = True
        for piece in ExtractiveGenerator().stream(request):
            pieces.append(piece)
            yield AnswerToken(piece)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # a stream left early stops generating (and a llama.cpp context is free again)
    text = "".join(pieces)
    if extracted:
        yield AnswerDone(_checked_extract(embedder, request, citations, text, label))
    else:
        yield AnswerDone(_checked(embedder, request, citations, candidates, text, label))


def _validate(question: str, limit: int | None) -> None:
    if not question:
        raise UserInputError(
            "the question is empty", hint='ask something, e.g. atlas ask "how can I cut GPU costs?"'
        )
    if len(question) > MAX_QUERY_CHARS:
        raise UserInputError(
            f"the question is {len(question)} characters long",
            hint=f"keep it under {MAX_QUERY_CHARS} characters",
        )
    if limit is not None and not 1 <= limit <= MAX_ASK_LIMIT:
        raise UserInputError(
            f"limit {limit} is out of range", hint=f"use a limit between 1 and {MAX_ASK_LIMIT}"
        )


def _settings(settings: AnswerSettings, options: AskOptions) -> AnswerSettings:
    """The library's answer settings (resolved from the environment at the edge) with this call's choices."""
    chosen = {
        "generator": options.generator,
        "model": options.model,
        "base_url": options.base_url,
        "limit": options.limit,
    }
    changes: dict[str, object] = {name: value for name, value in chosen.items() if value is not None}
    return settings.with_(**changes) if changes else settings


def _moments(
    retriever: Retriever, question: str, parts: tuple[str, ...], limit: int, filters: SearchFilters | None
) -> tuple[Vector, list[Query], list[Passage]] | None:
    """The question's vector, its parts' queries (none when it asks one thing) and its passages, or None when
    the library holds no matching moment. A question of several parts is searched whole and part by part,
    ``limit`` moments each, and the hits are merged in turn (each search's best, then each one's second...),
    so the best moments of every part come first and those that join the parts are not lost."""
    if len(parts) == 1:
        hits = retriever.search(question, limit=limit, filters=filters)
    else:
        texts = [question, *(search_text(parts, i)[:MAX_QUERY_CHARS] for i in range(len(parts)))]
        hits = _in_turn([retriever.search(text, limit=limit, filters=filters) for text in texts])
    if not hits:
        return None  # and an empty library never loads its embedding model
    embedder = retriever.embedder
    question_vector = embedder.embed_query(question)
    queries = [Query(part, embedder.embed_query(part)) for part in parts] if len(parts) > 1 else []
    passages = gather_passages(hits, retriever, question_vector)
    if queries:  # a passage found for one part is as relevant as it is to that part
        passages = [
            replace(p, relevance=max(p.relevance, *(relevance(p, q.vector) for q in queries)))
            for p in passages
        ]
    return (question_vector, queries, passages) if passages else None


def _in_turn(found: list[list[Hit]]) -> list[Hit]:
    """Hits of several searches, round by round (each search's first, then each one's second...), each
    window once."""
    merged: list[Hit] = []
    seen: set[tuple[str, int]] = set()
    for rank in range(max(len(hits) for hits in found)):
        for hits in found:
            if rank < len(hits):
                hit = hits[rank]
                key = (hit.video.video_id, hit.window.index)
                if key not in seen:
                    seen.add(key)
                    merged.append(hit)
    return merged


def _within_spread(candidates: list[Passage], queries: list[Query]) -> list[Passage]:
    """The passages not far weaker than the best one: for a question of several parts, than the best one of
    some part (each part's moments are measured against that part, not against the others')."""
    best = max(p.relevance for p in candidates)
    if not queries:
        return [p for p in candidates if p.relevance >= best - RELEVANCE_SPREAD]
    scores = [[relevance(p, q.vector) for q in queries] for p in candidates]
    tops = [max(row[j] for row in scores) for j in range(len(queries))]
    return [
        p
        for p, row in zip(candidates, scores, strict=True)
        if p.relevance >= best - RELEVANCE_SPREAD
        or any(score >= top - RELEVANCE_SPREAD for score, top in zip(row, tops, strict=True))
    ]


def _writer(settings: AnswerSettings, fallback: bool, loaded: GeneratorCache | None) -> tuple[Generator, str]:
    """The generator and the label the answer shows; with ``fallback``, extractive when it cannot start
    (a missing model, a missing package). A misspelt generator name is refused either way."""
    name = generator_name(settings)
    try:
        writer = generator_for(settings, loaded)
    except AtlasError as exc:
        if not fallback or name == EXTRACTIVE:
            raise
        return ExtractiveGenerator(), _fallback_label(name, exc)
    return writer, writer.name


def _fallback_label(failed: str, exc: AtlasError) -> str:
    return f"extractive (fallback: {failed} failed: {exc.message})"


def _citations(passages: list[Passage] | tuple[Passage, ...]) -> tuple[Citation, ...]:
    return tuple(Citation(p.number, p.hit) for p in passages)


def _unanswered(
    question: str, citations: tuple[Citation, ...], text: str, generator: str = NOT_GENERATED
) -> Answer:
    return Answer(question, text, (), citations, generator, answered=False)


def _checked_extract(
    embedder: Embedder, request: AnswerRequest, citations: tuple[Citation, ...], text: str, label: str
) -> Answer:
    """An extractive answer, checked like any other (a quoted question or an off-question line is dropped)."""
    question = request.question
    checker = SupportChecker(embedder, question, request.question_vector, request.passages)
    report = checker.check(parse_answer(text), origin="extracted")
    if not report.kept:
        return Answer(question, UNVERIFIED, (), citations, label, answered=False, dropped=report.dropped)
    if report.focus < MIN_ANSWER_FOCUS:
        missed = tuple(cite(s.text, s.citations) for s in report.kept) + report.dropped
        return Answer(question, OFF_QUESTION, (), citations, label, answered=False, dropped=missed)
    shown = render_answer(report.kept, report.paragraph_starts)
    return Answer(question, shown, report.kept, citations, label, answered=True, dropped=report.dropped)


def _checked(
    embedder: Embedder,
    request: AnswerRequest,
    citations: tuple[Citation, ...],
    candidates: list[Passage],
    text: str,
    label: str,
) -> Answer:
    """A generated answer, checked sentence by sentence, with supported extracts standing in for what failed
    the check and following with what the model left out (fallback.py)."""
    question = request.question
    checker = SupportChecker(embedder, question, request.question_vector, request.passages)
    mended = mend(embedder, request, checker.check(until_repeat(parse_answer(text))), candidates)
    citations += _citations(mended.extra)
    if not mended.sentences:
        return Answer(question, UNVERIFIED, (), citations, label, answered=False, dropped=mended.dropped)
    if mended.focus < MIN_ANSWER_FOCUS:
        return Answer(question, OFF_QUESTION, (), citations, label, answered=False, dropped=mended.dropped)
    if mended.extracted:
        label = f"{label} + extractive"  # some sentences are quotes, not the model's (each says which)
    shown = render_answer(mended.sentences, mended.paragraph_starts)
    return Answer(question, shown, mended.sentences, citations, label, answered=True, dropped=mended.dropped)
