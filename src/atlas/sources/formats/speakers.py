"""Speaker names written into caption and text transcripts, taken out of the spoken text.

Transcripts name speakers in a few ways: WebVTT voice tags (``<v Dan>``, read by the WebVTT parser), and line
prefixes in SRT, WebVTT and plain text: ``Dan: ...``, ``Dan Smith: ...``, ``- Dan: ...`` (a dialogue dash),
``>> DAN: ...`` (broadcast captions, whose ``>>`` the caption clean-up has already dropped) and
``[Dan] ...``. A label is never spoken, so it leaves the text: it must not rank as a word of the transcript.

Prefixes are read conservatively, because ordinary speech and notes also start with a word and a colon
("Note: the slides are online"): a label is one or two capitalised words, not a known heading word, and a
file's labels count only when they recur, or when several different ones start most lines (``uses_labels``).
A line without a label continues the speaker of the line before it, as transcripts write a name only when the
speaker changes. A bracketed label that names a sound (``[Music] ...``) is a sound cue, not a speaker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# One or two words, each starting with a capital letter (any script), at most 32 characters in all.
_NAME = r"[^\W\d_][\w'.\-]*(?: [^\W\d_][\w'.\-]*)?"
_PREFIX = re.compile(rf"^(?:-\s*)?(?P<name>{_NAME}):\s+(?P<rest>\S.*)$")
_BRACKET = re.compile(rf"^\[(?P<name>{_NAME})\]:?\s+(?P<rest>\S.*)$")
_MAX_NAME_CHARS = 32
MIN_LABELLED_SHARE = 0.01  # of a file's lines, for recurring labels (``uses_labels``)

# Words that head a line of notes or speech rather than name a speaker ("Note: ...", "Step 1: ...").
_NOT_NAMES = frozenset(
    """note notes nb ps warning caution example examples update edit edited source sources summary tip tips
    important reminder remember question answer chapter part step section title subtitle subtitles caption
    captions translation translator transcript transcribed transcription music lyrics sound audio video
    http https www and but so well yes no ok okay now then also first second third next finally because
    however anyway today here there this that what why how when where who""".split()
)
_SOUND = re.compile(
    r"\b(?:music|laugh\w*|applau\w*|chuckl\w*|cheer\w*|inaudible|crosstalk|silence|sigh\w*|cough\w*|"
    r"noise|beep\w*|static|foreign|unintelligible|indistinct)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Line:
    """One transcript line with its speaker: ``explicit`` where the format names it (a ``<v>`` tag)."""

    text: str
    speaker: str | None = None
    explicit: bool = False


def split_label(line: str) -> tuple[str | None, str]:
    """``(name, rest)`` when ``line`` starts with something shaped like a speaker label, else
    ``(None, line)``.

    Shape only: whether a file's labels are names is decided over the whole file (``with_speakers``)."""
    for pattern in (_PREFIX, _BRACKET):
        found = pattern.match(line)
        if found is None:
            continue
        name = found["name"]
        words = name.split()
        if (
            len(name) <= _MAX_NAME_CHARS
            and all(word[0].isupper() for word in words)
            and words[0].lower().strip(".") not in _NOT_NAMES
            and not _SOUND.search(name)
        ):
            return name, found["rest"]
    return None, line


def uses_labels(lines: Sequence[str]) -> bool:
    """Whether a file's line prefixes are speaker labels.

    Speakers recur: a conversation names the same few people again and again, where headings in a talk
    ("Premise: ...", "Problem: ...", "Solution: ...", each once in 1,365 lines of a real sample) are each
    used once. So labels count when they recur (twice each on average) on at least 1 % of the lines, or when
    several different ones start at least half the lines (a short dialogue: "Dan: ..." / "Bekah: ...")."""
    counts = Counter(name for name, _ in map(split_label, lines) if name is not None)
    labelled, distinct = sum(counts.values()), len(counts)
    if labelled < 2:
        return False
    recurring = labelled >= 2 * distinct and labelled >= MIN_LABELLED_SHARE * len(lines)
    return recurring or (distinct >= 2 and 2 * labelled >= len(lines))


def with_speakers(groups: Sequence[Sequence[Line]]) -> list[list[Line]]:
    """Each group's lines (a group: one cue or paragraph) with label prefixes moved out of the text into
    ``speaker``, and unlabelled lines given the speaker of the line before them (across groups too).

    Lines that already carry an explicit speaker keep it; label prefixes count only when ``uses_labels`` says
    the file uses them, so a file of ordinary text comes back unchanged."""
    labelled = uses_labels([line.text for group in groups for line in group if not line.explicit])
    if not labelled and not any(line.explicit for group in groups for line in group):
        return [list(group) for group in groups]
    current: str | None = None
    out: list[list[Line]] = []
    for group in groups:
        lines: list[Line] = []
        for line in group:
            text, speaker = line.text, line.speaker
            if labelled:
                name, rest = split_label(text)
                if name is not None:
                    text, speaker = rest, name
            if line.explicit or speaker is not None:
                current = speaker
            lines.append(Line(text, current, line.explicit))
        out.append(lines)
    return out
