"""Never worse than extractive: where the model's sentences fail the support check, or leave part of the
question unanswered, quoted sentences from the moments stand in for them, sentence by sentence.

A small local model often writes one true sentence and two invented ones, or only invented ones; dropping
them left users with "no answer" while the library held it. The extractive generator's sentences for the same
question (``extractive.extract``, read from the moments whole, as ``--generator extractive`` reads them, not
trimmed to the model's context) are checked like generated ones, and the supported ones fill the holes:

  - no kept sentence addresses the question (all dropped, or the kept ones miss it): the extract is the
    answer, and the kept sentences that missed the question are listed as dropped (as before the fallback);
  - a dropped sentence is replaced, where it stood, by the supported sentence of the moments closest to it
    in meaning (what the model most likely tried to say, whether the extract chose it or not) when one is
    close enough;
  - the extract's sentences that no shown sentence repeats follow, as a paragraph of their own, so the answer
    never tells less than the extract would: the bundled 0.5B model's own sentences, even where they verify,
    often leave out the figure or the name that the extract quotes (benchmarks/README.md, Answers: on the
    dev questions this raised its fact recall from 0.39 to the extract's 0.49, no question recalling fewer
    facts than the extract). It used to add only extracts naming question words no shown sentence named.

An extract that repeats a shown sentence is skipped. Extracts cite the model's passage that holds the quoted
sentence; a sentence the model's context had no room for cites a new moment numbered after the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from atlas.answer.base import AnswerRequest, Passage, Vector
from atlas.answer.citations import DraftSentence, cite
from atlas.answer.extractive import FILLER_WORDS, ExtractiveGenerator, extract, tidy
from atlas.answer.packing import pack
from atlas.answer.support import SupportChecker, SupportReport, content_stems, figures
from atlas.embedding.base import Embedder
from atlas.models import AnswerSentence, Sentence

# An answer must hold at least one sentence this close to the question. Copied sentences that are true to
# their moment but miss the question (the bundled model answering "what is Pedalboard?" with sentences about
# neural network layers: 0.21 and 0.27) do not make an answer.
MIN_ANSWER_FOCUS = 0.3
# MiniLM: a sentence and its faithful paraphrase score above 0.7, so an extract this close to a shown sentence
# says the same thing again.
REPEAT_COSINE = 0.75
# ...and one whose content words are nearly all in one shown sentence adds nothing either.
REPEAT_WORDS = 0.8
# A dropped sentence and the moment sentence it garbled (a figure or a name changed, a clause invented) stay
# close in meaning; below this the closest extract is about something else, and it is told (if at all) after
# the model's sentences, with the rest of the extract.
REPLACE_COSINE = 0.5


@dataclass(frozen=True, slots=True)
class Mended:
    sentences: tuple[AnswerSentence, ...]
    paragraph_starts: frozenset[int]
    extra: tuple[Passage, ...]  # moments quoted that the model was not given, numbered after its own
    dropped: tuple[str, ...]
    focus: float  # the best cosine of a shown sentence to the question (-1 when none is shown)

    @property
    def extracted(self) -> int:
        return sum(s.origin == "extracted" for s in self.sentences)


@dataclass(frozen=True, slots=True, eq=False)
class _Shown:
    sentence: AnswerSentence
    vector: Vector


def mend(
    embedder: Embedder, request: AnswerRequest, report: SupportReport, candidates: Sequence[Passage]
) -> Mended:
    """The checked generated sentences of ``report`` with supported extracts where they fall short."""
    kept = [_Shown(s, v) for s, v in zip(report.kept, report.kept_vectors, strict=True)]
    focused = report.focus >= MIN_ANSWER_FOCUS
    # Replacing a dropped sentence looks at every line of the moments; otherwise the extract's are enough.
    lines = focused and bool(report.gaps)
    pool, every, extra = _supported_extracts(embedder, request, candidates, every_line=lines)
    if not focused:
        missed = tuple(cite(s.text, s.citations) for s in report.kept) + report.dropped
        chosen = _without_repeats(pool, [])
        if not chosen:  # the kept sentences stay, for the service to say they miss the question
            return Mended(report.kept, report.paragraph_starts, (), missed, report.focus)
        return _mended(chosen, frozenset(), missed, request, extra)

    shown: list[_Shown] = []
    starts: set[int] = set()
    replacements = _replacements(report, every, kept)
    for i, item in enumerate([*kept, None]):
        shown += replacements.get(i, [])
        if item is not None:
            if i in report.paragraph_starts and shown:
                starts.add(len(shown))
            shown.append(item)
    fillers = _without_repeats(pool, shown)  # in the order spoken, like the extract
    if fillers:
        starts.add(len(shown))  # what the model did not say comes after what it did, as its own paragraph
    return _mended([*shown, *fillers], frozenset(starts), report.dropped, request, extra)


def _supported_extracts(
    embedder: Embedder, request: AnswerRequest, candidates: Sequence[Passage], *, every_line: bool
) -> tuple[list[_Shown], list[_Shown], dict[int, Passage]]:
    """Supported quotes: the extractive answer's sentences in the order told, and those plus (``every_line``)
    the other lines of the moments (a dropped sentence may garble one the extract did not choose); each cites
    the model's passage that holds it, or a new number after them. Also those new passages by number."""
    reader = ExtractiveGenerator()
    whole = pack(
        candidates,
        question=request.question,
        count_tokens=reader.count_tokens,
        context_tokens=reader.context_tokens,
        answer_tokens=request.max_tokens,
    )
    told = extract(replace(request, passages=whole, messages=()))
    chosen = {(p.number, s.index) for p, s in told}
    rest = [
        (p, s)
        for p in (whole if every_line else ())
        for s in p.sentences
        if (p.number, s.index) not in chosen and len(s.text.split()) > FILLER_WORDS
    ]
    extra: dict[int, Passage] = {}  # by the whole passage's number, numbered after the model's passages
    drafts = []
    for passage, sentence in [*told, *rest]:
        number = _given(request.passages, passage, sentence)
        if number is None:
            if passage.number not in extra:
                extra[passage.number] = replace(passage, number=len(request.passages) + len(extra) + 1)
            number = extra[passage.number].number
        drafts.append(DraftSentence(tidy(sentence.text), (number,)))
    passages = request.passages + tuple(extra.values())
    checker = SupportChecker(embedder, request.question, request.question_vector, passages)
    report = checker.check(drafts[: len(told)], origin="extracted")
    extract_pool = [_Shown(s, v) for s, v in zip(report.kept, report.kept_vectors, strict=True)]
    report = checker.check(drafts[len(told) :], origin="extracted")
    others = [_Shown(s, v) for s, v in zip(report.kept, report.kept_vectors, strict=True)]
    return extract_pool, extract_pool + others, {p.number: p for p in extra.values()}


def _given(passages: Sequence[Passage], source: Passage, sentence: Sentence) -> int | None:
    """The number of the model's passage that holds ``sentence`` (from ``source``), if any."""
    video_id = source.hit.video.video_id
    for passage in passages:
        if passage.hit.video.video_id == video_id and any(
            s.index == sentence.index for s in passage.sentences
        ):
            return passage.number
    return None


def _replacements(report: SupportReport, pool: list[_Shown], kept: list[_Shown]) -> dict[int, list[_Shown]]:
    """For each dropped sentence, the supported line closest to it, keyed by where the dropped one stood."""
    chosen: dict[int, list[_Shown]] = {}
    used: list[_Shown] = list(kept)
    for position, vector in report.gaps:
        fresh = [c for c in pool if not _repeats(c, used)]
        best = max(fresh, key=lambda c: float(c.vector @ vector), default=None)
        if best is not None and float(best.vector @ vector) >= REPLACE_COSINE:
            chosen.setdefault(position, []).append(best)
            used.append(best)
    return chosen


def _without_repeats(pool: list[_Shown], shown: list[_Shown]) -> list[_Shown]:
    chosen: list[_Shown] = []
    for candidate in pool:
        if not _repeats(candidate, [*shown, *chosen]):
            chosen.append(candidate)
    return chosen


def _repeats(candidate: _Shown, shown: Sequence[_Shown]) -> bool:
    words = content_stems(candidate.sentence.text)
    numbers = figures(candidate.sentence.text)
    for other in shown:
        if numbers - figures(other.sentence.text):
            # A figure the shown sentence lacks is news however alike the wording: MiniLM puts "71 % of people
            # say they want funny ads" within REPEAT_COSINE of "78 % of people say they hear boring ones".
            continue
        if float(candidate.vector @ other.vector) >= REPEAT_COSINE:
            return True
        if words and len(words & content_stems(other.sentence.text)) / len(words) >= REPEAT_WORDS:
            return True
    return False


def _mended(
    shown: Sequence[_Shown],
    starts: frozenset[int],
    dropped: tuple[str, ...],
    request: AnswerRequest,
    extra: dict[int, Passage],
) -> Mended:
    """Renumber the new moments the shown extracts cite to follow the model's, in order of first citation, so
    the numbers run without holes and uncited ones are not listed."""
    given = len(request.passages)
    renumbered: dict[int, int] = {}
    for item in shown:
        for number in item.sentence.citations:
            if number > given and number not in renumbered:
                renumbered[number] = given + len(renumbered) + 1
    sentences = tuple(
        replace(s.sentence, citations=tuple(renumbered.get(n, n) for n in s.sentence.citations))
        for s in shown
    )
    passages = tuple(replace(extra[old], number=new) for old, new in renumbered.items())
    focus = max((float(s.vector @ request.question_vector) for s in shown), default=-1.0)
    return Mended(sentences, starts, passages, dropped, focus)
