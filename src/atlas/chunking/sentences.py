"""Split a transcript into sentences whose times come from the words actually in them.

Transcripts arrive as segments that rarely align with sentences: Whisper breaks lines mid-sentence, caption
streams have no punctuation at all, plain text has paragraphs and no times. We flatten everything to a word
stream that remembers each word's time (its own word timing when the source has one, else its segment's
bounds), then cut at sentence punctuation, long pauses, paragraph ends of untimed text, and length caps.
Sound cues and Whisper's known hallucinations are left out of the sentences (``noise``): they are kept in the
stored transcript but never indexed. A sentence's ``position`` still counts every word of the transcript.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from atlas.chunking.noise import is_filler_run, is_sign_off, normalised, sound_cue_mask
from atlas.config import WindowSettings
from atlas.models import Segment, Sentence, Transcript

# Tokens ending with these close a sentence when the next token starts like a sentence.
SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_STARTS_SENTENCE = re.compile(r"^[\"'“‘(\[]*[A-Z0-9]")
_ABBREVIATIONS = frozenset(
    "mr. mrs. ms. dr. prof. sr. jr. st. vs. etc. e.g. i.e. cf. approx. no. fig. u.s. u.k. a.m. p.m.".split()
)
PAUSE_SECONDS = 2.0  # silence this long between words ends a sentence in unpunctuated captions


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: float | None
    end: float | None
    segment: int
    speaker: str | None = None
    joined: bool = False  # written onto the token before it, with no space: ".5" after "1", "%" after "59"


def word_stream(segments: Iterable[Segment]) -> list[Token]:
    tokens: list[Token] = []
    for seg_index, seg in enumerate(segments):
        if seg.words:
            words = [(w, text) for w in seg.words if (text := w.text.strip())]
            together = written_together(seg.text, [text for _, text in words])
            for (w, text), joined in zip(words, together, strict=True):
                start = w.start if w.start is not None else seg.start
                end = w.end if w.end is not None else seg.end
                tokens.append(Token(text, start, end, seg_index, seg.speaker, joined))
            continue
        # No word timings: every word may lie anywhere inside its segment, so the honest bounds are the
        # segment's own. A sentence starting mid-segment then starts a little early, never late.
        for text in seg.text.split():
            tokens.append(Token(text, seg.start, seg.end, seg_index, seg.speaker))
    return tokens


def written_together(text: str, words: Sequence[str]) -> list[bool]:
    """For each of a segment's timed words, whether the segment's text writes it onto the word before, with no
    space between. Whisper times a written word in parts ("1" ".5", "59" "%", "pre" "-roll", "$1" ".37"); its
    segment text keeps them together. Words the text does not hold as written (a source whose words and text
    disagree) stand apart."""
    together: list[bool] = []
    cursor = 0
    found_before = False
    for word in words:
        at = text.find(word, cursor)
        if at < 0:
            together.append(False)
            found_before = False
            continue
        together.append(found_before and at == cursor)
        cursor, found_before = at + len(word), True
    return together


def written(tokens: Sequence[Token]) -> str:
    """Tokens as the transcript writes them: spaces between words, none inside one ("1.5 billion", "59%").
    Joined with a space each, a transcript read "1 .5 billion" and "$1 .37", which neither a reader, nor
    keyword search, nor the answer check's figures take for 1.5 and $1.37."""
    return "".join((t.text if t.joined or i == 0 else " " + t.text) for i, t in enumerate(tokens))


def _ends_sentence(token: str, next_token: str | None) -> bool:
    if not SENTENCE_END.search(token):
        return False
    if token.lower() in _ABBREVIATIONS:
        return False
    return next_token is None or bool(_STARTS_SENTENCE.match(next_token))


def content_positions(tokens: Sequence[Token]) -> list[int]:
    """Positions of the tokens that are speech: sound cues and hallucinated filler segments left out."""
    noise = sound_cue_mask([t.text for t in tokens], [t.segment for t in tokens])
    # The remaining words of each segment, in order: a segment of only "you" / "heat" may be a hallucination.
    groups: list[list[int]] = []
    for i, tok in enumerate(tokens):
        if noise[i]:
            continue
        if groups and tokens[groups[-1][0]].segment == tok.segment:
            groups[-1].append(i)
        else:
            groups.append([i])
    words = [[normalised(tokens[i].text) for i in group] for group in groups]
    g = 0
    while g < len(groups):
        filler = next((f for f in ("you", "heat") if is_filler_run(words[g], f)), None)
        if filler is None:
            g += 1
            continue
        run_end = g
        while run_end + 1 < len(groups) and is_filler_run(words[run_end + 1], filler):
            run_end += 1
        run = [i for group in groups[g : run_end + 1] for i in group]
        if filler == "heat":
            drop = len(run) >= 2
        else:  # a lone "you" that begins a sentence, not the end of "thank / you" split over two cues
            before = next((tokens[i] for i in range(run[0] - 1, -1, -1) if not noise[i]), None)
            first = tokens[run[0]]
            drop = (
                before is None
                or bool(SENTENCE_END.search(before.text))
                or (
                    before.end is not None
                    and first.start is not None
                    and first.start - before.end >= PAUSE_SECONDS
                )
            )
        if drop:
            for i in run:
                noise[i] = True
        g = run_end + 1
    return [i for i in range(len(tokens)) if not noise[i]]


def split_sentences(transcript: Transcript, settings: WindowSettings) -> list[Sentence]:
    return [span.sentence for span in sentence_spans(transcript, settings)]


@dataclass(frozen=True, slots=True)
class SentenceSpan:
    """A sentence with the words it was made of and their positions in the transcript's word stream."""

    sentence: Sentence
    tokens: tuple[Token, ...]
    positions: tuple[int, ...]


def sentence_spans(transcript: Transcript, settings: WindowSettings) -> list[SentenceSpan]:
    everything = word_stream(transcript.segments)
    positions = content_positions(everything)
    tokens = [everything[i] for i in positions]
    timed = transcript.timed
    spans: list[SentenceSpan] = []
    begin = 0
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None or _cut_between(tokens[begin], tok, nxt, i + 1 - begin, timed, settings):
            sentence = _make_sentence(len(spans), tokens[begin : i + 1], positions[begin])
            spans.append(
                SentenceSpan(sentence, tuple(tokens[begin : i + 1]), tuple(positions[begin : i + 1]))
            )
            begin = i + 1
    return _without_hallucinations(spans)


def _without_hallucinations(spans: list[SentenceSpan]) -> list[SentenceSpan]:
    """Sentences less Whisper's sign-offs and runs of "Heat." (two or more), numbered again from 0."""
    sentences = [span.sentence for span in spans]
    heat = [is_filler_run(normalised(s.text).split(), "heat") for s in sentences]
    kept: list[SentenceSpan] = []
    for i, sentence in enumerate(sentences):
        in_heat_run = heat[i] and (
            len(sentence.text.split()) >= 2
            or (i > 0 and heat[i - 1])
            or (i + 1 < len(sentences) and heat[i + 1])
        )
        if in_heat_run or is_sign_off(sentence.text):
            continue
        if sentence.index != len(kept):
            spans[i] = replace(spans[i], sentence=replace(sentence, index=len(kept)))
        kept.append(spans[i])
    return kept


def _cut_between(
    first: Token, tok: Token, nxt: Token, length: int, timed: bool, settings: WindowSettings
) -> bool:
    """Whether a sentence that began at ``first`` ends after ``tok`` (``length`` words so far)."""
    if nxt.speaker != tok.speaker:
        return True  # each sentence has one speaker, so a hit can say who said it
    if nxt.joined:
        return False  # never inside a written word ("1" | ".5")
    if _ends_sentence(tok.text, nxt.text) or length >= settings.max_sentence_words:
        return True
    new_segment = nxt.segment != tok.segment
    if not timed:
        # Plain text wraps lines mid-sentence; a line that ends with a full stop ends a sentence even when
        # the next line starts in lower case.
        return new_segment and bool(SENTENCE_END.search(tok.text))
    if tok.end is not None and nxt.start is not None and nxt.start - tok.end >= PAUSE_SECONDS:
        return True
    # A long unpunctuated stretch is cut at the next segment boundary.
    return (
        new_segment
        and first.start is not None
        and tok.end is not None
        and tok.end - first.start >= settings.max_sentence_seconds
    )


class _Timed(Protocol):
    @property
    def start(self) -> float | None: ...

    @property
    def end(self) -> float | None: ...


def time_bounds(parts: Sequence[_Timed]) -> tuple[float | None, float | None]:
    """Earliest start and latest end of what is actually inside a span (None where no part has a time)."""
    starts = [p.start for p in parts if p.start is not None]
    ends = [p.end for p in parts if p.end is not None]
    return (min(starts) if starts else None, max(ends) if ends else None)


def _make_sentence(index: int, tokens: list[Token], position: int) -> Sentence:
    start, end = time_bounds(tokens)
    return Sentence(index, written(tokens), start, end, position, tokens[0].speaker)
