"""Text clean-up and rolling-caption de-duplication shared by the caption formats (WebVTT, SRT).

Caption decisions, made once here so both formats agree:

- Markup is stripped (``<i>``, ``<c>``, ``<v Speaker>``, SRT ``<font ...>``, ASS ``{\\an8}``). The speaker
  name of a ``<v>`` tag is dropped with it: it was never spoken.
- A line (or, with inline word timings, a timed chunk) made only of bracketed sound tags such as ``[Music]``,
  ``[Applause]`` or YouTube's censored ``[ __ ]`` is dropped: it is not speech, and keeping it would make
  every video with a soundtrack match the query "music". Brackets inside speech ("he [Obama] said") stay.
- ``>>`` speaker-change markers are dropped for the same reason. Speaker labels (``Dan:`` prefixes, voice
  tags) are moved out of the text into each segment's ``speaker`` (see ``speakers``).
- Roll-up captions (YouTube auto-captions, and SRT converted from them) repeat the previous cue's last line at
  the top of the next cue. Lines carried over from the cue just before are dropped, so each line counts once;
  a cue that carries nothing new (an exact repeat, or YouTube's 10 ms transition cue) only extends the time of
  the segment before it.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from atlas.errors import SourceError
from atlas.models import Segment
from atlas.sources.formats.speakers import Line, with_speakers

# Cues further apart than this are separate utterances even when their text repeats ("Yes." ... "Yes.").
CONTIGUOUS_GAP_S = 1.0

# Tags (<i>, </c>, <v Bob>), WebVTT inline timestamps (<00:00:01.280>) and ASS overrides ({\an8}).
MARKUP = re.compile(r"</?[A-Za-z][^<>]*>|<(?:\d+:)?\d{1,2}:\d{2}\.\d{3}>|\{\\[^{}]*\}")
_ANNOTATION_ONLY = re.compile(r"(?:\s*(?:\[[^\[\]]*\]|♪+))+\s*")
_SPEAKER_MARK = re.compile(r"^>{2,}$")


@dataclass(frozen=True, slots=True)
class Cue:
    """One caption cue after clean-up: times in seconds, non-empty cleaned lines."""

    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None = None  # who says the lines (``speakers``), never part of them


def strip_bom(text: str) -> str:
    """Parsers get text from callers that may not have decoded with ``utf-8-sig``."""
    return text[1:] if text.startswith("\ufeff") else text


def load_json(text: str, source: str, *, hint: str) -> Any:
    """A JSON transcript's document; a file that is not JSON, or nested too deeply to be a transcript (a
    hostile ``[[[[...``), fails alone with one line instead of a traceback."""
    try:
        return json.loads(strip_bom(text))
    except RecursionError:
        raise SourceError(source, "its JSON is nested too deeply to be a transcript", hint=hint) from None
    except json.JSONDecodeError as exc:
        raise SourceError(
            source, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", hint=hint
        ) from exc


def json_seconds(value: Any, where: str, source: str, *, hint: str) -> float | None:
    """A time in seconds from a JSON transcript; ``bool`` is rejected because JSON ``true`` would otherwise
    read as 1 second."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise SourceError(source, f"{where} must be a number of seconds, got {value!r}", hint=hint)
    return float(value)


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def clean_text(raw: str, *, entities: bool) -> str:
    """Caption text without markup, entities decoded (WebVTT only: SRT has none), spaces tidied."""
    text = MARKUP.sub("", raw)
    if entities:
        text = html.unescape(text)
    return " ".join(token for token in text.split() if not _SPEAKER_MARK.match(token))


def is_annotation(text: str) -> bool:
    """True for text made only of sound tags such as ``[Music]`` / ``[Applause]`` or music notes."""
    return bool(text) and _ANNOTATION_ONLY.fullmatch(text) is not None


def clean_caption_line(raw: str, *, entities: bool) -> str:
    """A caption line ready to index, or ``""`` when nothing spoken is left."""
    text = clean_text(raw, entities=entities)
    return "" if is_annotation(text) else text


def carried_over(previous: Sequence[str], current: Sequence[str]) -> int:
    """How many leading lines of ``current`` repeat the trailing lines of ``previous`` (roll-up captions)."""
    for k in range(min(len(previous), len(current)), 0, -1):
        if tuple(previous[-k:]) == tuple(current[:k]):
            return k
    return 0


def is_contiguous(previous_end: float | None, start: float) -> bool:
    return previous_end is not None and start - previous_end <= CONTIGUOUS_GAP_S


def extend_last(segments: list[Segment], end: float) -> None:
    """A cue with nothing new still shows the text a little longer: stretch the segment before it."""
    if segments:
        last = segments[-1]
        segments[-1] = replace(last, end=max(end, last.end if last.end is not None else end))


def merge_cues(cues: Iterable[Cue]) -> list[Segment]:
    """One segment per cue, without roll-up repeats; consecutive identical cues become one segment.
    A cue said by another speaker than the one before never counts as a repeat ("Yes." / "Yes.")."""
    segments: list[Segment] = []
    previous: tuple[str, ...] = ()
    previous_end: float | None = None
    previous_speaker: str | None = None
    for cue in cues:
        lines = tuple(line for line in cue.lines if line)
        if not lines:
            continue  # blank or sound-only cue: keep `previous` so the next cue still de-duplicates
        same_voice = cue.speaker == previous_speaker
        k = carried_over(previous, lines) if same_voice and is_contiguous(previous_end, cue.start) else 0
        previous, previous_end, previous_speaker = lines, cue.end, cue.speaker
        if k == len(lines):
            extend_last(segments, cue.end)
            continue
        segments.append(Segment(text=" ".join(lines[k:]), start=cue.start, end=cue.end, speaker=cue.speaker))
    return segments


def cues_with_speakers(
    cues: Sequence[Cue], voices: Sequence[Sequence[str | None]] | None = None
) -> list[Cue]:
    """Cues with their speakers taken out of the text (``speakers``); a cue whose lines change speaker
    becomes one cue per speaker, with the same times. ``voices``: per cue, per line, the name the format's
    own markup gave (WebVTT ``<v Dan>``), or None."""
    groups = [
        [
            Line(text, voice, voice is not None)
            for text, voice in zip(cue.lines, voices[i] if voices else [None] * len(cue.lines), strict=True)
        ]
        for i, cue in enumerate(cues)
    ]
    out: list[Cue] = []
    for cue, lines in zip(cues, with_speakers(groups), strict=True):
        runs: list[tuple[str | None, list[str]]] = []
        for line in lines:
            if runs and runs[-1][0] == line.speaker:
                runs[-1][1].append(line.text)
            else:
                runs.append((line.speaker, [line.text]))
        out.extend(Cue(cue.start, cue.end, tuple(texts), speaker) for speaker, texts in runs)
    return out
