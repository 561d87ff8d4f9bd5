"""What is in a transcript but was never said: sound cues and Whisper's known hallucinations.

Applied to the word stream before sentences are cut, so every format and every source (caption files, YouTube
captions, our own Whisper runs) is treated the same: the stored transcript keeps these lines for display, but
they are not indexed text, so they never rank (the query "laughter" must not return windows of cues).

- **Sound cues**: a bracketed span of at most 8 words that describes a sound: ``[Music]``, ``[laughter]``,
  ``(upbeat music)``, ``[Dan and Bekah chuckle]``, ``(audience applauding)``, captioners' upper-case
  ``[CHUCKLES]``, YouTube's censored ``[ __ ]``, and any segment made only of square-bracketed spans (how
  Whisper and caption tools write non-speech). Brackets in speech stay: ``he [Obama] said``, ``(Part 1)``,
  a captioner's uncertain ``[? finni. ?]``. Music notes (``♪``) are dropped; sung words between them stay.
- **Hallucinations**: Whisper's lone ``you`` over silence (a segment of only "you" that starts a sentence),
  YouTube ASR's ``Heat. Heat.`` over music (segments or sentences of only "heat", two or more in a row), and
  sign-off lines Whisper invents from its training data ("Thank you for watching.") when a whole sentence is
  one of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_SOUND_WORD = re.compile(
    r"\b(?:music\w*|laugh\w*|chuckl\w*|giggl\w*|applau\w*|clap\w*|cheer(?:s|ing)?|sigh(?:s|ing)?|cough\w*|"
    r"sneez\w*|inaudible|indistinct\w*|unintelligible|crosstalk|silence|beeps?|beeping|gasp\w*|groan\w*|"
    r"sniff\w*|snort\w*|chimes?|ringing|mumbl\w*|murmur\w*|speaking|foreign|throat|singing|whistl\w*|"
    r"exhales?|inhales?|sobs?|sobbing|screams?|screaming|growls?|barks?|barking|buzz(?:es|ing)?|blank_audio)\b",
    re.IGNORECASE,
)
_OPENERS = {"[": "]", "(": ")"}
_EDGE_PUNCTUATION = "\"'“”‘’.,!?;:…-"
_MUSIC_NOTES = re.compile(r"^[♪♫♬]+$")
_LETTERS = re.compile(r"[^a-z']+")
MAX_CUE_WORDS = 8

_SIGN_OFFS = frozenset(
    {
        "thank you for watching",
        "thanks for watching",
        "thank you so much for watching",
        "thank you very much for watching",
        "thank you for watching and see you next time",
        "thanks for watching and see you next time",
        "please subscribe to my channel",
        "subtitles by the amara org community",
    }
)


def normalised(text: str) -> str:
    """Lower-case letters and apostrophes only, single-spaced: "Thank you, for watching!" -> "thank you for
    watching"."""
    return " ".join(_LETTERS.sub(" ", text.lower()).split())


def _bracket_span(texts: Sequence[str], i: int) -> int | None:
    """The index of the token closing a bracketed span that opens at ``texts[i]``, else ``None``."""
    head = texts[i].lstrip(_EDGE_PUNCTUATION)
    if not head or head[0] not in _OPENERS:
        return None
    close = _OPENERS[head[0]]
    for j in range(i, min(i + MAX_CUE_WORDS, len(texts))):
        tail = texts[j].rstrip(_EDGE_PUNCTUATION)
        if tail.endswith(close) and (j > i or len(tail) > 1):
            return j
        if j > i and texts[j].lstrip(_EDGE_PUNCTUATION)[:1] in _OPENERS:
            return None
    return None


def is_sound_cue(span: str, *, whole_segment: bool) -> bool:
    """Whether a bracketed span (brackets included) describes a sound rather than holding speech."""
    stripped = span.strip(_EDGE_PUNCTUATION)
    inner = stripped[1:-1].strip()
    if inner.startswith("?"):
        return False  # a captioner's uncertain hearing of real words: "[? finni. ?]"
    if not inner.strip("_ "):
        return True  # YouTube's censored "[ __ ]", an empty "[]"
    if _SOUND_WORD.search(inner):
        return True
    if stripped.startswith("["):
        letters = [c for c in inner if c.isalpha()]
        return whole_segment or (len(letters) >= 2 and all(c.isupper() for c in letters))
    return False


def sound_cue_mask(texts: Sequence[str], segments: Sequence[int]) -> list[bool]:
    """``True`` for each token in a sound cue or a music note (``segments``: the line of each token)."""
    noise = [False] * len(texts)
    i = 0
    while i < len(texts):
        if _MUSIC_NOTES.match(texts[i].strip(_EDGE_PUNCTUATION)):
            noise[i] = True
            i += 1
            continue
        close = _bracket_span(texts, i)
        if close is None:
            i += 1
            continue
        segment = segments[i]
        whole = (
            segments[close] == segment
            and (i == 0 or segments[i - 1] != segment or noise[i - 1])
            and _rest_of_segment_is_cues(texts, segments, close + 1, segment)
        )
        if is_sound_cue(" ".join(texts[i : close + 1]), whole_segment=whole):
            noise[i : close + 1] = [True] * (close + 1 - i)
            i = close + 1
        else:
            i += 1
    return noise


def _rest_of_segment_is_cues(texts: Sequence[str], segments: Sequence[int], i: int, segment: int) -> bool:
    """Whether the tokens from ``i`` to the end of ``segment`` are only square-bracketed spans."""
    while i < len(texts) and segments[i] == segment:
        close = _bracket_span(texts, i)
        if close is None or not texts[i].lstrip(_EDGE_PUNCTUATION).startswith("["):
            return False
        i = close + 1
    return True


def is_filler_run(words: Sequence[str], filler: str) -> bool:
    """Whether normalised ``words`` are only ``filler`` ("you", "heat")."""
    return bool(words) and all(word == filler for word in words)


def is_sign_off(sentence: str) -> bool:
    """A whole sentence that is one of Whisper's invented sign-offs ("Thank you for watching!")."""
    return normalised(sentence) in _SIGN_OFFS
