"""Cut long sentences into timed pieces, so a hit can be pinned to the second its answer starts.

A sentence is the unit a window is built from, but it is too coarse to pin to when a transcript runs speech
together: Whisper joins several spoken sentences into one, and an unpunctuated caption stream is cut into
15-second slices. The pin then lands at the start of the run, often 5-20 s before the words that answer.
Here each such sentence is cut again, where the time actually changes, into pieces of a few seconds: at a
spoken pause when words carry their own times, and at the first cue or Whisper-segment boundary once a piece
spans ``piece_seconds``. Windows keep exactly the text and times they had (they are still grouped by whole
sentences), so retrieval does not move; the pieces become the stored sentences that evidence and pinning
score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from atlas.chunking.sentences import SENTENCE_END, SentenceSpan, Token, sentence_spans, time_bounds, written
from atlas.chunking.windows import build_windows
from atlas.config import WindowSettings
from atlas.models import Sentence, Transcript, Window


def chunk_transcript(transcript: Transcript, settings: WindowSettings) -> tuple[list[Sentence], list[Window]]:
    """The sentences (pieces) and windows stored for one transcript."""
    spans = sentence_spans(transcript, settings)
    sentences = [span.sentence for span in spans]
    windows = build_windows(sentences, settings)
    if settings.piece_seconds <= 0 or not transcript.timed:
        return sentences, windows
    pieces: list[Sentence] = []
    first_piece: list[int] = []  # per sentence: the index of its first piece
    for span in spans:
        first_piece.append(len(pieces))
        for begin, end in piece_bounds(span, settings):
            start, stop = time_bounds(span.tokens[begin:end])
            pieces.append(
                replace(
                    span.sentence,
                    index=len(pieces),
                    text=written(span.tokens[begin:end]),
                    start=start,
                    end=stop,
                    position=span.positions[begin],
                )
            )
    first_piece.append(len(pieces))
    return pieces, [
        replace(
            w,
            first_sentence=first_piece[w.first_sentence],
            last_sentence=first_piece[w.last_sentence + 1] - 1,
        )
        for w in windows
    ]


def piece_bounds(span: SentenceSpan, settings: WindowSettings) -> list[tuple[int, int]]:
    """Half-open token ranges of the pieces of one sentence (the whole sentence when it is short)."""
    tokens = span.tokens
    n = len(tokens)
    bounds: list[tuple[int, int]] = []
    begin = 0
    for k in range(1, n):
        if k - begin < settings.piece_min_words or n - k < settings.piece_min_words:
            continue
        if _cut_before(tokens, begin, k, settings):
            bounds.append((begin, k))
            begin = k
    bounds.append((begin, n))
    return bounds


def _cut_before(tokens: Sequence[Token], begin: int, k: int, settings: WindowSettings) -> bool:
    prev, tok, first_start = tokens[k - 1], tokens[k], tokens[begin].start
    if tok.joined:
        return False  # never inside a written word ("1" | ".5")
    start, prev_end = tok.start, prev.end
    if start is None or first_start is None or start <= first_start:
        return False  # no later time to pin to: a cut here would give the piece the sentence's start
    if settings.piece_pause > 0 and prev_end is not None and start - prev_end >= settings.piece_pause:
        return True
    if start - first_start < settings.piece_seconds:
        return False
    # Cut only where a new cue (caption line, Whisper segment) begins: that is where a speaker's line starts,
    # and without word times every word of a cue carries the cue's bounds anyway.
    return tok.segment != prev.segment


def rejoin_pieces(
    pieces: Sequence[Sentence], vectors: npt.NDArray[np.floating], settings: WindowSettings | None = None
) -> tuple[list[Sentence], npt.NDArray[np.float32]]:
    """Stored pieces read as whole sentences again, for readers that quote (answers): a piece that does not
    end a sentence runs on into the next one while the joined sentence stays within the sentence caps. Each
    joined sentence keeps its first piece's index, start and position, and its vector is the word-weighted,
    normalised mean of its pieces' (the pieces' vectors are all that is stored)."""
    caps = settings or WindowSettings()
    groups: list[list[int]] = []
    for i, piece in enumerate(pieces):
        if groups and _runs_on(pieces, groups[-1], piece, caps):
            groups[-1].append(i)
        else:
            groups.append([i])
    joined: list[Sentence] = []
    rows: list[npt.NDArray[np.float32]] = []
    for group in groups:
        members = [pieces[i] for i in group]
        start, end = time_bounds(members)
        joined.append(replace(members[0], text=" ".join(m.text for m in members), start=start, end=end))
        weights = np.array([max(1, len(m.text.split())) for m in members], dtype=np.float32)
        summed = (vectors[group].astype(np.float32) * weights[:, None]).sum(axis=0)
        rows.append((summed / max(float(np.linalg.norm(summed)), 1e-6)).astype(np.float32))
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    return joined, (np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32))


def continues(before: Sentence, piece: Sentence) -> bool:
    """Whether stored ``piece`` goes on with the sentence that ``before`` leaves unfinished: ``before`` is the
    piece said just before it, by the same speaker, and ends no sentence. Rejoining pieces, reading a passage
    back to its sentence's start (answer/packing.py) and pinning to it (search/pinning.py) all ask this."""
    return (
        not SENTENCE_END.search(before.text)
        and piece.speaker == before.speaker
        and piece.index == before.index + 1
    )


def _runs_on(pieces: Sequence[Sentence], group: list[int], piece: Sentence, caps: WindowSettings) -> bool:
    last, first = pieces[group[-1]], pieces[group[0]]
    if not continues(last, piece):
        return False
    words = sum(len(pieces[i].text.split()) for i in group) + len(piece.text.split())
    if words > caps.max_sentence_words:
        return False
    return first.start is None or piece.end is None or piece.end - first.start <= caps.max_sentence_seconds
