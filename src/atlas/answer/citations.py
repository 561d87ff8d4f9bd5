"""Generated text with ``[n]`` markers -> sentences with citation numbers, and checked sentences -> text.

Models write markers in many shapes: ``[1]``, ``[1, 2]``, ``[1][2]``, ``[1-3]``, ``[Excerpt 2]``, before or
after the full stop, sometimes alone on the next line. Markdown (bullets, bold, headings) is common too. The
parser keeps the words and the numbers and forgets the layout, except where a paragraph starts.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from atlas.models import AnswerSentence
from atlas.search.text import tokenize

# A marker is a bracket holding numbers, optionally with words like "excerpt"/"and" and separators.
_MARKER = re.compile(r"\[([^\[\]]{1,60})\]")
_MARKER_BODY = re.compile(r"(?:excerpts?|passages?|sources?|moments?|and|[\s,;\-–\d])+", re.IGNORECASE)
_RANGE = re.compile(r"(\d+)\s*[-–]\s*(\d+)|(\d+)")
_MAX_RANGE = 20  # "[1-3]" means 1, 2, 3; "[1-300]" is not a citation anyone meant
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,2}[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_SOURCES_HEADING = re.compile(r"^\W*(?:sources|references|citations|excerpts used)\W*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]*_]*$")
_STARTS_SENTENCE = re.compile(r"^[\"'“‘(*_]*[A-Z0-9]")
_ABBREVIATIONS = frozenset(
    "mr. mrs. ms. dr. prof. sr. jr. st. vs. etc. e.g. i.e. cf. approx. fig. u.s. u.k. a.m. p.m.".split()
)
# Abbreviations only before a number ("No. 5"); a speaker's "No." before a sentence is a reply, and ends it.
_NUMBER_ABBREVIATIONS = frozenset({"no."})
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?…])")
MIN_LOOP_WORDS = 4  # a repeated sentence shorter than this is a remark said twice, not a loop
_EMPHASIS = re.compile(r"(\*\*|__|(?<!\w)[*_])(\S(?:.*?\S)?)\1")
# Small models echo the excerpt header the prompt wrote (prompt.render_passage): "Talk title", 0:04:50: text
_ECHOED_HEADER = re.compile(
    r'^((?:\s*\[[^\[\]\n]{1,60}\])*)\s*"?[^"\n]{1,200}?"?,\s*(?:untimed|\d+:\d{2}:\d{2})\s*:\s+'
)


@dataclass(frozen=True, slots=True)
class DraftSentence:
    """A generated sentence before support checking."""

    text: str  # without markers
    citations: tuple[int, ...]  # as written, duplicates removed
    paragraph: bool = False  # a new paragraph or list item starts here


def marker_numbers(body: str) -> tuple[int, ...] | None:
    """The numbers a marker's inside names ("1, 2", "1-3", "Excerpt 2"), or None if it is not a marker."""
    if not any(ch.isdigit() for ch in body) or not _MARKER_BODY.fullmatch(body):
        return None
    numbers: list[int] = []
    for match in _RANGE.finditer(body):
        if match.group(3) is not None:
            numbers.append(int(match.group(3)))
            continue
        low, high = int(match.group(1)), int(match.group(2))
        if low <= high <= low + _MAX_RANGE:
            numbers.extend(range(low, high + 1))
        else:
            numbers.extend((low, high))
    return tuple(numbers)


def strip_markers(text: str) -> tuple[str, tuple[int, ...]]:
    """Text without its citation markers, and the numbers they named (in order, without repeats)."""
    found: list[int] = []

    def drop(match: re.Match[str]) -> str:
        numbers = marker_numbers(match.group(1))
        if numbers is None:
            return match.group(0)  # an ordinary bracket, e.g. "[laughs]"
        found.extend(numbers)
        return " "

    cleaned = _MARKER.sub(drop, text)
    cleaned = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(cleaned.split()))
    return cleaned, tuple(dict.fromkeys(found))


def parse_answer(text: str) -> list[DraftSentence]:
    """Split generated text into sentences, each with the citation numbers written on it."""
    drafts: list[DraftSentence] = []
    new_paragraph = True
    for raw_line in text.splitlines():
        if not raw_line.strip():
            new_paragraph = True
            continue
        if _SOURCES_HEADING.match(raw_line):
            break  # a trailing list of sources repeats the passages; the citations already name them
        is_item = bool(_BULLET.match(raw_line))
        line = _EMPHASIS.sub(r"\2", _HEADING.sub("", _BULLET.sub("", raw_line)))
        line = _ECHOED_HEADER.sub(r"\1 ", line)
        leading = _starts_with_marker(line)
        opened: tuple[int, ...] = ()
        for i, chunk in enumerate(_split_line(line, leading=leading)):
            body, numbers = strip_markers(chunk)
            body = body.lstrip(".,;:) ")  # what a leading "[2]." leaves behind
            if leading:  # "[1] A. B. [2] C.": B belongs to [1] as much as A does
                numbers = opened = numbers or opened
            if not any(ch.isalnum() for ch in body):
                if numbers and drafts:  # a marker alone (e.g. on its own line) belongs to the sentence before
                    last = drafts[-1]
                    merged = tuple(dict.fromkeys(last.citations + numbers))
                    drafts[-1] = DraftSentence(last.text, merged, last.paragraph)
                continue
            starts = i == 0 and (new_paragraph or is_item)
            drafts.append(DraftSentence(body, numbers, starts))
        new_paragraph = False
    return drafts


def until_repeat(drafts: Sequence[DraftSentence]) -> list[DraftSentence]:
    """The drafts before the first one that repeats an earlier one word for word. A small model under greedy
    decoding that says a sentence again has started a loop: everything from there on is the loop (on the
    answer benchmark's dev split the bundled 0.5B said one sentence 11 times in one answer). A short remark
    ("Right.", "Yes, exactly.") may come twice in a passage the model copies, so it never counts as a loop."""
    seen: set[tuple[str, ...]] = set()
    for i, draft in enumerate(drafts):
        key = tuple(tokenize(draft.text))
        if len(key) < MIN_LOOP_WORDS:
            continue
        if key in seen:
            return list(drafts[:i])
        seen.add(key)
    return list(drafts)


def loops(text: str) -> bool:
    """Whether a finished sentence of a draft still being written repeats an earlier one (its last sentence
    is judged only once its closing punctuation or marker is written: until then it may still grow)."""
    drafts = parse_answer(text)
    finished = drafts if text.rstrip().endswith((".", "!", "?", "…", "]")) else drafts[:-1]
    return len(until_repeat(finished)) < len(finished)


def _starts_with_marker(line: str) -> bool:
    tokens = line.split(maxsplit=1)
    return bool(tokens) and _is_marker_token(tokens[0])


def _split_line(line: str, *, leading: bool = False) -> Iterator[str]:
    """Sentences of one line. Markers written after the full stop stay with the sentence they follow, unless
    the line opens with one (``[1] First claim. [2] Second claim.``): then each marker opens a sentence."""
    tokens = line.split()
    current: list[str] = []
    i = 0
    while i < len(tokens):
        current.append(tokens[i])
        i += 1
        if not _ends_sentence(current[-1], tokens[i] if i < len(tokens) else None) or (
            leading and all(map(_is_marker_token, current))
        ):
            continue
        if not leading:
            while i < len(tokens) and _is_marker_token(tokens[i]):
                current.append(tokens[i])
                i += 1
        following = next((t for t in tokens[i:] if not (leading and _is_marker_token(t))), None)
        if following is None or _STARTS_SENTENCE.match(following):
            yield " ".join(current)
            current = []
    if current:
        yield " ".join(current)


def _ends_sentence(token: str, following: str | None = None) -> bool:
    bare, _ = strip_markers(token)
    if not bare or not _SENTENCE_END.search(bare):
        return False
    if bare.lower() in _NUMBER_ABBREVIATIONS:
        return following is None or not following[:1].isdigit()
    return bare.lower() not in _ABBREVIATIONS


def _is_marker_token(token: str) -> bool:
    bare, numbers = strip_markers(token)
    return bool(numbers) and not any(ch.isalnum() for ch in bare)


def cite(text: str, citations: Sequence[int]) -> str:
    """A sentence with its markers, placed before the final punctuation: ``Batching saves money [2][3].``"""
    marks = "".join(f"[{n}]" for n in citations)
    if not marks:
        return text
    if text and text[-1] in ".!?…":
        return f"{text[:-1].rstrip()} {marks}{text[-1]}"
    return f"{text} {marks}"


def render_answer(sentences: Sequence[AnswerSentence], paragraph_starts: Collection[int] = ()) -> str:
    """The answer as shown: checked sentences with their markers, paragraphs where the generator made them."""
    out: list[str] = []
    for i, sentence in enumerate(sentences):
        if out:
            out.append("\n\n" if i in paragraph_starts else " ")
        out.append(cite(sentence.text, sentence.citations))
    return "".join(out)
