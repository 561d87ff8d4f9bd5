"""Retrieval quality of Atlas: does a search land on the passage, and on the second, that a query means?

    .venv/bin/python benchmarks/bench_quality.py --check          # validate benchmarks/queries.jsonl only
    .venv/bin/python benchmarks/bench_quality.py                  # ingest (cached) + evaluate; dev and test
    .venv/bin/python benchmarks/bench_quality.py --split test --show-misses --json out.json

Six talks: the three real transcripts in samples/ (a Whisper text-lines lecture, two untimed plain texts), two
espeak-ng audio talks that go in as MP3 through the real pipeline (faster-whisper ASR), and one YouTube-style
rolling auto-caption WebVTT (benchmarks/quality_talks.py makes the last three; benchmarks/talks/ holds their
text). Every query has an ``answer``: a verbatim quote of the talk's text.

Relevance. On a text talk a hit is relevant when it comes from the query's video and its window covers the
answer quote: after normalisation (lowercase, apostrophes dropped, other punctuation to spaces, whitespace
collapsed) the window holds the whole quote, or - because a quote may straddle a window boundary - a run of at
least half of the quote's words that starts at the quote's first word or ends at its last word. The anchoring
keeps a generic three-word phrase elsewhere in the talk from counting as a find. On an audio talk the
transcript is Whisper's, not the source text, so relevance is by time: the window's [start, end] overlaps the
quote's true span (start of the spoken line holding its first word to the end of the line holding its last),
with 1 s of slack.

Moments. On every timed talk, for a relevant rank-1 hit: the signed error ``hit.moment - truth``, where truth
is the start of the line (Whisper line, spoken line, caption line) that holds the quote's first word.

The query set is written as a held-out test: do not edit it to make a system look better. Each query carries
a ``split`` (dev or test): tune on dev, report both.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from quality_talks import (
    AUDIO_TALKS,
    ROLLING_VTT,
    AudioTalk,
    build_audio,
    read_rolling_lines,
    read_talk_lines,
)

if TYPE_CHECKING:
    from atlas.library import Library
    from atlas.models import Hit
    from atlas.search.engine import Mode

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
QUERIES = HERE / "queries.jsonl"
CACHE = HERE / ".cache" / "quality-library"
DEFAULT_SAMPLES = REPO / "samples"

# video id -> sample file name (Atlas names a transcript file's video after its stem, minus ".whisper")
SAMPLES: dict[str, str] = {
    "berkeley-ai-rubric-lecture": "berkeley-ai-rubric-lecture.whisper.txt",
    "mixture-of-experts-meetup": "mixture-of-experts-meetup.txt",
    "normconf-ml-cost-talk": "normconf-ml-cost-talk.txt",
}
# What kind of transcript each talk is; the kinds with times get moment numbers.
KINDS: dict[str, str] = {
    "berkeley-ai-rubric-lecture": "whisper-text",
    "mixture-of-experts-meetup": "plain-text",
    "normconf-ml-cost-talk": "plain-text",
    **{talk.video_id: "asr-audio" for talk in AUDIO_TALKS},
    "buzzcast-video-experiment": "rolling-vtt",
}
TIMED_KINDS = ("whisper-text", "asr-audio", "rolling-vtt")
KIND_LABELS = {"whisper-text": "whisper text", "asr-audio": "ASR audio", "rolling-vtt": "rolling VTT"}
TYPES = ("paraphrase", "question", "keyword")
TYPE_LABELS = {"paraphrase": "para", "question": "quest", "keyword": "kw"}  # table column prefixes
MODES: tuple[Mode, ...] = ("keyword", "vector", "hybrid")
SPLITS = ("dev", "test")
CUTOFFS = (1, 5, 10)
MOMENT_TOLERANCES = (3.0, 5.0)  # seconds
LATE_S = 1.0  # a moment more than this after the truth starts the player after the words
TIME_SLACK_S = 1.0  # audio talks: a window this close to the quote's span counts as overlapping it
QUOTE_WORDS = (6, 30)
LEGACY_QUERIES = (
    54  # q01..q54: split by the parity of the number (odd dev, even test); fixed, others rely on it
)

_TIMED_LINE = re.compile(r"^\[(\d+):(\d\d):(\d\d(?:\.\d+)?)\s*-->\s*(\d+):(\d\d):(\d\d(?:\.\d+)?)\]\s?(.*)$")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_NON_WORD = re.compile(r"[^\w]+|_")

# Function words a paraphrase query may share with its quote; every other word counts as content.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doesnt doing dont down during each either else ever every few
    for from further get got had has have having he her here hers him his how i if in into is isnt it its
    itself just let lets like may me might more most much must my no nor not now of off on once only or other
    our ours out over own quite rather really same shall she should so some such than that thats the their
    theirs them then there these they this those though through to too under until up upon us very via was
    we were what whats when where whether which while who whom whose why will with within without would yet
    you your yours
    """.split()
)


# -- text ----------------------------------------------------------------------------------------------------


def normalise(text: str) -> list[str]:
    """Lowercase word tokens: apostrophes dropped (it's -> its), other punctuation treated as a space."""
    text = _APOSTROPHES.sub("", text.lower())
    return [t for t in _NON_WORD.split(text) if t]


def stem(word: str) -> str:
    """A deliberately aggressive suffix strip, so 'trained' and 'train' count as the same word."""
    for suffix in ("ations", "ation", "ings", "ing", "edly", "ed", "ers", "er", "ies", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    return {t for t in normalise(text) if t not in STOPWORDS}


def find_all(haystack: Sequence[str], needle: Sequence[str]) -> list[int]:
    n = len(needle)
    if n == 0:
        return []
    first, target = needle[0], tuple(needle)
    return [
        i
        for i in range(len(haystack) - n + 1)
        if haystack[i] == first and tuple(haystack[i : i + n]) == target
    ]


def covers(window: Sequence[str], quote: Sequence[str]) -> bool:
    """The whole quote, or an anchored half of it (a prefix or a suffix), occurs in the window."""
    need = math.ceil(len(quote) / 2)
    if find_all(window, quote):
        return True
    for size in range(len(quote) - 1, need - 1, -1):
        if find_all(window, quote[:size]) or find_all(window, quote[-size:]):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Transcript:
    """A talk's text as a normalised word stream, each word's line, and (timed talks) each line's span."""

    video_id: str
    kind: str
    path: Path
    words: tuple[str, ...]
    line_of: tuple[int, ...]  # index of the line each word belongs to
    spans: tuple[tuple[float, float], ...] | None  # (start, end) seconds per line; None when untimed

    @classmethod
    def from_lines(
        cls,
        video_id: str,
        kind: str,
        path: Path,
        lines: Sequence[str],
        spans: Sequence[tuple[float, float]] | None,
    ) -> Transcript:
        words: list[str] = []
        line_of: list[int] = []
        for index, text in enumerate(lines):
            tokens = normalise(text)
            words.extend(tokens)
            line_of.extend([index] * len(tokens))
        return cls(
            video_id, kind, path, tuple(words), tuple(line_of), tuple(spans) if spans is not None else None
        )

    @classmethod
    def load(cls, video_id: str, path: Path, kind: str | None = None) -> Transcript:
        """A sample (Whisper text lines or plain text), an audio talk's text (untimed until ``with_spans``),
        or a rolling-caption VTT (each caption line timed by its first word)."""
        kind = kind or KINDS.get(video_id, "plain-text")
        if kind == "asr-audio":
            return cls.from_lines(video_id, kind, path, [line.text for line in read_talk_lines(path)], None)
        if kind == "rolling-vtt":
            rolled = read_rolling_lines(path)
            return cls.from_lines(
                video_id, kind, path, [t for _, _, t in rolled], [(a, b) for a, b, _ in rolled]
            )
        raw = path.read_text(encoding="utf-8")
        lines = [line for line in raw.splitlines() if line.strip()]
        matches = [_TIMED_LINE.match(line) for line in lines]
        if lines and all(matches):
            spans = []
            for match in matches:
                assert match is not None
                h, m, s, h2, m2, s2, _ = match.groups()
                spans.append(
                    (int(h) * 3600 + int(m) * 60 + float(s), int(h2) * 3600 + int(m2) * 60 + float(s2))
                )
            texts = [match.group(7) for match in matches if match is not None]
            return cls.from_lines(video_id, "whisper-text", path, texts, spans)
        return cls.from_lines(video_id, "plain-text", path, lines, None)

    def with_spans(self, starts: Sequence[float], ends: Sequence[float]) -> Transcript:
        """This audio talk with each spoken line's true span (from the synthesised recording)."""
        lines = max(self.line_of, default=-1) + 1
        if len(starts) != lines or len(ends) != lines:
            raise SystemExit(f"{self.video_id}: {len(starts)} recorded lines, the text has {lines}: rebuild")
        return replace(self, spans=tuple(zip(starts, ends, strict=True)))


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    query: str
    type: str
    video_id: str
    answer: str
    split: str
    quote: tuple[str, ...]
    kind: str  # the talk's kind (KINDS)
    truth_start: float | None  # start of the line holding the quote's first word (timed talks)
    truth_end: float | None  # end of the line holding its last word


def load_queries(path: Path, transcripts: dict[str, Transcript]) -> list[Query]:
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        quote = tuple(normalise(row["answer"]))
        start = end = None
        transcript = transcripts.get(row["video_id"])
        if transcript is not None and transcript.spans is not None:
            found = find_all(transcript.words, quote)
            if found:
                first, last = found[0], found[0] + len(quote) - 1
                start = transcript.spans[transcript.line_of[first]][0]
                end = transcript.spans[transcript.line_of[last]][1]
        queries.append(
            Query(
                row["id"],
                row["query"],
                row["type"],
                row["video_id"],
                row["answer"],
                row.get("split", ""),
                quote,
                transcript.kind if transcript is not None else "",
                start,
                end,
            )
        )
    return queries


def load_transcripts(samples: Path) -> dict[str, Transcript]:
    """Every talk's text; the audio talks' lines are untimed here (see ``attach_audio_truth``)."""
    transcripts = {vid: Transcript.load(vid, samples / name) for vid, name in SAMPLES.items()}
    for talk in AUDIO_TALKS:
        transcripts[talk.video_id] = Transcript.load(talk.video_id, talk.text, "asr-audio")
    transcripts["buzzcast-video-experiment"] = Transcript.load(
        "buzzcast-video-experiment", ROLLING_VTT, "rolling-vtt"
    )
    return transcripts


def attach_audio_truth(
    transcripts: dict[str, Transcript], talks: Sequence[AudioTalk] = AUDIO_TALKS
) -> dict[str, Transcript]:
    """Synthesise the audio talks (cached) and give their transcripts the true line spans."""
    out = dict(transcripts)
    for talk in talks:
        truth = build_audio(talk)
        out[talk.video_id] = out[talk.video_id].with_spans(
            cast("list[float]", truth["starts"]), cast("list[float]", truth["ends"])
        )
    return out


def expected_split(query_id: str, group_index: int) -> str:
    """The recorded split rule: q01..q54 by parity (odd dev, even test); later queries alternate dev, test,
    dev, ... within each (video, type) group in file order."""
    number = int(query_id.lstrip("q"))
    if number <= LEGACY_QUERIES:
        return "dev" if number % 2 else "test"
    return SPLITS[group_index % 2]


# -- --check -------------------------------------------------------------------------------------------------


def check(queries: list[Query], transcripts: dict[str, Transcript]) -> int:
    """Validate the query set; returns the number of errors (warnings do not count)."""
    errors: list[str] = []
    warnings: list[str] = []
    seen: set[str] = set()
    groups: Counter[tuple[str, str]] = Counter()
    for q in queries:
        where = f"{q.id} ({q.video_id})"
        if q.id in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(q.id)
        if q.type not in TYPES:
            errors.append(f"{where}: type {q.type!r} is not one of {TYPES}")
        if not re.fullmatch(r"q\d+", q.id):
            errors.append(f"{where}: id must be q<number>")
        else:
            want = expected_split(q.id, groups[(q.video_id, q.type)])
            if int(q.id[1:]) > LEGACY_QUERIES:
                groups[(q.video_id, q.type)] += 1
            if q.split != want:
                errors.append(f"{where}: split is {q.split!r}, the recorded rule says {want!r}")
        transcript = transcripts.get(q.video_id)
        if transcript is None:
            errors.append(f"{where}: unknown video id")
            continue
        lo, hi = QUOTE_WORDS
        if not lo <= len(q.quote) <= hi:
            errors.append(f"{where}: answer has {len(q.quote)} words, want {lo}-{hi}")
        hits = find_all(transcript.words, q.quote)
        if not hits:
            errors.append(f"{where}: answer not found verbatim in {transcript.path.name}: {q.answer!r}")
        elif len(hits) > 1:
            warnings.append(f"{where}: answer occurs {len(hits)} times (locatable, not unique)")
        if q.type == "paraphrase":
            shared = _shared_content(q.query, q.answer)
            if shared:
                errors.append(f"{where}: paraphrase shares content words with its answer: {sorted(shared)}")
    for message in warnings:
        print(f"warning: {message}")
    for message in errors:
        print(f"error:   {message}")
    by_type = Counter(q.type for q in queries)
    by_video = Counter(q.video_id for q in queries)
    total = len(queries)
    print(
        f"{total} queries: "
        + ", ".join(f"{t} {by_type[t]} ({by_type[t] / max(total, 1):.0%})" for t in TYPES)
    )
    for split in SPLITS:
        part = Counter(q.type for q in queries if q.split == split)
        print(f"  {split}: {sum(part.values())} (" + ", ".join(f"{t} {part[t]}" for t in TYPES) + ")")
    print(f"{len(by_video)} talks: " + ", ".join(f"{v} {n}" for v, n in sorted(by_video.items())))
    for vid, transcript in transcripts.items():
        spots = sorted(
            find_all(transcript.words, q.quote)[0] / len(transcript.words)
            for q in queries
            if q.video_id == vid and find_all(transcript.words, q.quote)
        )
        print(f"  {vid} ({transcript.kind}): answers at " + " ".join(f"{p:.0%}" for p in spots))
    print("check: " + ("OK" if not errors else f"{len(errors)} error(s)"))
    return len(errors)


def _shared_content(query: str, answer: str) -> set[str]:
    answer_words = content_words(answer)
    answer_stems = {stem(w) for w in answer_words}
    return {w for w in content_words(query) if w in answer_words or stem(w) in answer_stems}


# -- evaluation ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class QueryResult:
    query: Query
    rank: int | None  # 1-based rank of the first relevant hit within the limit, None when missed
    moment_error: float | None  # signed hit.moment - truth_start, for a relevant rank-1 hit on a timed talk
    top: dict[str, Any] | None  # the rank-1 hit, for --show-misses and --json
    seconds: float


def moment_stats(errors: Sequence[float]) -> dict[str, Any]:
    """count, median |error|, share within each tolerance, share later than the truth by more than LATE_S."""
    n = len(errors)
    return {
        "measured": n,
        "median_abs_error_s": statistics.median(abs(e) for e in errors) if n else None,
        **{
            f"within_{tol:g}s": (sum(1 for e in errors if abs(e) <= tol) / n if n else None)
            for tol in MOMENT_TOLERANCES
        },
        f"late_over_{LATE_S:g}s": sum(1 for e in errors if e > LATE_S) / n if n else None,
    }


@dataclass(slots=True)
class ModeReport:
    mode: str
    results: list[QueryResult] = field(default_factory=list)
    label: str = ""  # what was evaluated (a variant's name), for ablation tables

    def subset(self, split: str) -> ModeReport:
        """This report over one split's queries only ("all": every query)."""
        rows = [r for r in self.results if split == "all" or r.query.split == split]
        return ModeReport(self.mode, rows, self.label)

    def recall(self, k: int, type_: str | None = None) -> float:
        rows = self._rows(type_)
        return sum(1 for r in rows if r.rank is not None and r.rank <= k) / len(rows) if rows else math.nan

    def mrr(self, type_: str | None = None, k: int = 10) -> float:
        rows = self._rows(type_)
        return (
            sum(1 / r.rank for r in rows if r.rank is not None and r.rank <= k) / len(rows) if rows else 0.0
        )

    def moment_errors(self, kind: str | None = None) -> list[float]:
        return [
            r.moment_error
            for r in self.results
            if r.moment_error is not None and (kind is None or r.query.kind == kind)
        ]

    def _rows(self, type_: str | None) -> list[QueryResult]:
        return [r for r in self.results if type_ is None or r.query.type == type_]

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "label": self.label,
            "queries": len(self.results),
            **{f"R@{k}": self.recall(k) for k in CUTOFFS},
            "MRR@10": self.mrr(),
            "by_type": {
                t: {"queries": len(self._rows(t)), "R@5": self.recall(5, t), "MRR@10": self.mrr(t)}
                for t in TYPES
            },
            "moment": moment_stats(self.moment_errors()),
            "moment_by_kind": {
                KIND_LABELS[kind]: {
                    "timed_queries": sum(1 for r in self.results if r.query.kind == kind),
                    **moment_stats(self.moment_errors(kind)),
                }
                for kind in TIMED_KINDS
            },
            "mean_query_ms": 1000 * statistics.fmean(r.seconds for r in self.results)
            if self.results
            else None,
        }


def relevant(hit: Hit, query: Query) -> bool:
    if hit.video.video_id != query.video_id:
        return False
    if query.kind == "asr-audio":  # the window text is Whisper's, not the source's: judge by time
        start, end = hit.window.start, hit.window.end
        if start is None or end is None or query.truth_start is None or query.truth_end is None:
            return False
        return start <= query.truth_end + TIME_SLACK_S and end >= query.truth_start - TIME_SLACK_S
    return covers(normalise(hit.window.text), query.quote)


def describe(hit: Hit) -> dict[str, Any]:
    return {
        "video_id": hit.video.video_id,
        "start": hit.window.start,
        "end": hit.window.end,
        "moment": hit.moment,
        "score": hit.score,
        "text": hit.window.text,
    }


def evaluate(
    lib: Library,
    queries: list[Query],
    mode: Mode,
    limit: int,
    label: str = "",
    seen: Callable[[Query, list[Hit]], None] | None = None,
) -> ModeReport:
    """Search every query in one mode; rank of the first relevant hit, moment error of a relevant rank 1.
    ``seen`` is shown each query's hits, for measures of a benchmark of its own (bench_reading.py)."""
    report = ModeReport(mode, label=label)
    for q in queries:
        began = time.perf_counter()
        hits = lib.search(q.query, limit=limit, mode=mode)
        seconds = time.perf_counter() - began
        if seen is not None:
            seen(q, hits)
        rank = next((i for i, hit in enumerate(hits, 1) if relevant(hit, q)), None)
        error = None
        if rank == 1 and q.truth_start is not None and hits[0].moment is not None:
            error = float(hits[0].moment) - q.truth_start
        report.results.append(QueryResult(q, rank, error, describe(hits[0]) if hits else None, seconds))
    return report


@dataclass(slots=True)
class Suite:
    """One configuration (a library and its search settings) evaluated in each mode over every query."""

    label: str
    reports: list[ModeReport]

    def split(self, name: str) -> list[ModeReport]:
        """The per-mode reports over one split ("dev", "test" or "all")."""
        return [rep.subset(name) for rep in self.reports]

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "splits": {name: [rep.summary() for rep in self.split(name)] for name in (*SPLITS, "all")},
        }


def run_suite(
    lib: Library, queries: list[Query], label: str, modes: Sequence[Mode] = MODES, limit: int = 10
) -> Suite:
    """Evaluate ``lib`` (whatever its search settings) in each mode; slice the result with ``Suite.split``.
    Ablations: open the same cached library with other settings (``open_library(..., settings=...)``) and
    call this once per variant with its own label."""
    return Suite(label, [evaluate(lib, queries, mode, limit, label) for mode in modes])


def ingest_targets(samples: Path) -> list[str]:
    """What the benchmark library holds: the samples, the rolling-caption VTT and the audio talks' MP3s."""
    return [
        *(str(samples / name) for name in SAMPLES.values()),
        str(ROLLING_VTT),
        *(str(talk.mp3) for talk in AUDIO_TALKS),
    ]


def open_library(
    samples: Path,
    rebuild: bool,
    threads: int | None,
    rerank: bool = True,
    *,
    settings: Any = None,
    ingest: bool = True,
    embedder: Any = None,
) -> tuple[Library, float]:
    """Open the cached benchmark library, ingesting every talk into it (a no-op for what is already there; the
    audio talks are transcribed once, and Whisper's transcript cache in the library avoids doing it again).
    ``settings`` replaces the default ``resolve_settings(library=CACHE, threads=threads)`` (ablations)."""
    from atlas.config import resolve_settings
    from atlas.library import Library

    if rebuild and CACHE.exists():
        shutil.rmtree(CACHE)
    CACHE.mkdir(parents=True, exist_ok=True)
    if settings is None:
        settings = resolve_settings(library=CACHE, threads=threads)
    if not rerank:
        settings = settings.with_(search=replace(settings.search, rerank=False))
    lib = Library.open(settings, embedder=embedder)
    if not ingest:
        return lib, 0.0
    for talk in AUDIO_TALKS:
        build_audio(talk)  # cached: only made when missing or stale
    began = time.perf_counter()
    report = lib.ingest(ingest_targets(samples))
    took = time.perf_counter() - began
    for outcome in report.outcomes:
        name = outcome.video_id or outcome.target
        print(f"ingest {outcome.status:<9} {name}  {outcome.message or ''}".rstrip())
    if report.failed:
        lib.close()
        raise SystemExit("ingest failed; see above")
    stored = {v.video_id for v in lib.list_videos()}
    missing = set(KINDS) - stored
    if missing:
        lib.close()
        raise SystemExit(
            f"the library does not hold the expected video ids {sorted(missing)} (it has {stored})"
        )
    return lib, took


def library_settings(embedder: str, threads: int | None) -> Any:
    """Settings for a benchmark library built with another embedder, in its own cache folder. Whisper's
    transcripts of the audio talks are copied from the default library first: they do not depend on the
    embedder, and transcribing them again would only cost minutes."""
    from atlas.config import resolve_settings

    directory = CACHE.with_name(f"{CACHE.name}-{re.sub(r'[^A-Za-z0-9.-]+', '_', embedder)}")
    transcripts = CACHE / "cache"
    if transcripts.is_dir() and not (directory / "cache").exists():
        shutil.copytree(transcripts, directory / "cache")
    return resolve_settings(library=directory, threads=threads, embedder=embedder)


def recipe_settings(window_vectors: str, embedder: str | None, threads: int | None) -> Any:
    """Settings for a benchmark library whose window vectors are made by ``window_vectors`` ("embed": the
    window's text embedded; "sentences": pooled from its sentence vectors), in its own cache folder, so both
    recipes are built by the same code and compared fairly."""
    from atlas.config import resolve_settings

    suffix = f"-{re.sub(r'[^A-Za-z0-9.-]+', '_', embedder)}" if embedder else ""
    directory = CACHE.with_name(f"{CACHE.name}{suffix}-windows-{window_vectors}")
    base = resolve_settings(library=directory, threads=threads, embedder=embedder)
    transcripts = CACHE / "cache"
    if transcripts.is_dir() and not (directory / "cache").exists():
        shutil.copytree(transcripts, directory / "cache")
    windows = replace(base.windows, vectors_from_sentences=window_vectors == "sentences")
    return base.with_(windows=windows)


def chunking_settings(pairs: Sequence[str], base: Any, threads: int | None) -> Any:
    """``base`` (or the default settings) with ``KEY=VALUE`` window settings applied, in a cache folder of its
    own named by them: chunking is recorded in a library, so each variant is a library of its own."""
    from atlas.config import resolve_settings

    changes: dict[str, float] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        changes[key] = float(value)
    settings = base or resolve_settings(library=CACHE, threads=threads)
    windows = replace(
        settings.windows, **{k: type(getattr(settings.windows, k))(v) for k, v in changes.items()}
    )
    tag = "-".join(f"{k}{v:g}" for k, v in sorted(changes.items()))
    directory = settings.library_dir.with_name(f"{settings.library_dir.name}-{tag}")
    transcripts = CACHE / "cache"
    if transcripts.is_dir() and not (directory / "cache").exists():
        shutil.copytree(transcripts, directory / "cache")
    return settings.with_(library_dir=directory, windows=windows)


# Rerank variants measured against each other over one library: no rerank (plain RRF), and the weights
# (window, sentence, pair, keyword) before sentence pairs were scored; the shipped ones are the main table.
RERANK_VARIANTS: dict[str, tuple[float, float, float, float] | None] = {
    "rrf-only": None,
    "no-pairs": (0.45, 0.35, 0.0, 0.2),
}


def run_ablations(lib: Library, queries: list[Query], limit: int) -> list[Suite]:
    from atlas.search.rerank import EvidenceReranker

    engine = lib._engine  # benchmark-only: swap the reranker of one open library between variants
    shipped, rerank = engine._reranker, engine._settings.rerank
    suites = []
    try:
        for label, weights in RERANK_VARIANTS.items():
            engine._settings = replace(engine._settings, rerank=weights is not None)
            if weights is not None:
                engine._reranker = EvidenceReranker(*weights)
            suites.append(run_suite(lib, queries, label, ["hybrid"], limit))
    finally:
        engine._reranker, engine._settings = shipped, replace(engine._settings, rerank=rerank)
    return suites


# -- output --------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


def table(reports: list[ModeReport], title: str = "") -> str:
    type_counts = Counter(r.query.type for r in reports[0].results) if reports else Counter()
    header = ["mode", "n", "R@1", "R@5", "R@10", "MRR@10"]
    for t in TYPES:
        header += [f"{TYPE_LABELS[t]}R@5", f"{TYPE_LABELS[t]}MRR"]
    header += ["mom.n", "mom.med"]
    header += [f"mom±{tol:g}s" for tol in MOMENT_TOLERANCES]
    header += [f"late>{LATE_S:g}s", "ms/q"]
    rows = [header]
    for rep in reports:
        s = rep.summary()
        name = f"{rep.label}:{rep.mode}" if rep.label else rep.mode
        row = [name, str(s["queries"]), *(_pct(s[f"R@{k}"]) for k in CUTOFFS), _pct(s["MRR@10"])]
        for t in TYPES:
            row += [_pct(s["by_type"][t]["R@5"]), _pct(s["by_type"][t]["MRR@10"])]
        moment = s["moment"]
        med = moment["median_abs_error_s"]
        row += [str(moment["measured"]), "-" if med is None else f"{med:.1f}s"]
        row += [_pct(moment[f"within_{tol:g}s"]) for tol in MOMENT_TOLERANCES]
        row += [
            _pct(moment[f"late_over_{LATE_S:g}s"]),
            "-" if s["mean_query_ms"] is None else f"{s['mean_query_ms']:.0f}",
        ]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if title:
        lines.insert(0, title)
    counts = ", ".join(f"{t} {type_counts[t]}" for t in TYPES)
    timed = (
        Counter(r.query.kind for r in reports[0].results if r.query.truth_start is not None)
        if reports
        else {}
    )
    timed_text = ", ".join(f"{KIND_LABELS[k]} {timed.get(k, 0)}" for k in TIMED_KINDS)
    lines.append(
        f"queries by type: {counts}; moments over relevant rank-1 hits of the timed queries ({timed_text})"
    )
    for rep in reports:
        by_kind = rep.summary()["moment_by_kind"]
        parts = []
        for kind in TIMED_KINDS:
            m = by_kind[KIND_LABELS[kind]]
            if m["measured"]:
                parts.append(
                    f"{KIND_LABELS[kind]} n={m['measured']} med {m['median_abs_error_s']:.1f}s "
                    f"±3s {_pct(m['within_3s'])} late {_pct(m[f'late_over_{LATE_S:g}s'])}"
                )
        lines.append(f"  {rep.mode} moments: " + ("; ".join(parts) if parts else "none measured"))
    return "\n".join(lines)


def show_misses(report: ModeReport, k: int = 5) -> None:
    misses = [r for r in report.results if r.rank is None or r.rank > k]
    print(f"\n{report.mode}: {len(misses)} of {len(report.results)} queries miss at rank {k}")
    for r in misses:
        q = r.query
        found = "not in top results" if r.rank is None else f"first relevant at rank {r.rank}"
        print(f"\n[{q.id}] ({q.type}, {q.split}, {q.video_id}) {q.query!r} - {found}")
        truth = "" if q.truth_start is None else f" @{q.truth_start:.0f}-{q.truth_end:.0f}s"
        print(f"  want{truth}: {q.answer}")
        if r.top is None:
            print("  top:  (no hits)")
            continue
        t = r.top
        when = "" if t["start"] is None else f" @{t['start']:.0f}-{t['end']:.0f}s"
        text = " ".join(str(t["text"]).split())
        print(f"  top:  {t['video_id']}{when}: {text[:300]}{'...' if len(text) > 300 else ''}")


def write_json(path: Path, suites: list[Suite], ingest_seconds: float | None) -> None:
    payload = {
        "ingest_seconds": ingest_seconds,
        "suites": [suite.summary() for suite in suites],
        "queries": {
            f"{suite.label}:{rep.mode}" if suite.label else rep.mode: [
                {
                    "id": r.query.id,
                    "type": r.query.type,
                    "split": r.query.split,
                    "video_id": r.query.video_id,
                    "kind": r.query.kind,
                    "rank": r.rank,
                    "truth_start_s": r.query.truth_start,
                    "moment_error_s": r.moment_error,
                    "top": r.top,
                    "seconds": r.seconds,
                }
                for r in rep.results
            ]
            for suite in suites
            for rep in suite.reports
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_suite(suite: Suite, splits: Sequence[str]) -> None:
    for name in splits:
        part = suite.split(name)
        n = len(part[0].results) if part else 0
        label = f"{suite.label}, " if suite.label else ""
        print(f"\n{label}split {name} ({n} queries)")
        print(table(part))


# -- main ----------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="validate the query set and exit")
    parser.add_argument(
        "--samples", type=Path, default=DEFAULT_SAMPLES, help="folder with the three sample transcripts"
    )
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--rebuild", action="store_true", help="re-create the cached benchmark library")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "all", "both"),
        default="both",
        help="which split's table (default: dev, test)",
    )
    parser.add_argument("--limit", type=int, default=10, help="hits requested per query (default 10)")
    parser.add_argument("--threads", type=int, default=None, help="embedder threads (default: Atlas's)")
    parser.add_argument("--no-rerank", action="store_true", help="ablation: hybrid without the rerank stage")
    parser.add_argument(
        "--embedder",
        default=None,
        help="build (and cache) the library with this embedder, e.g. all-mpnet-base-v2 (default: Atlas's)",
    )
    parser.add_argument(
        "--window-vectors",
        choices=["embed", "sentences"],
        default=None,
        help="build (and cache, in its own folder) the library with window vectors embedded from the "
        "window's text or pooled from its sentence vectors (issue 17); default: Atlas's, cached library",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="with --window-vectors: run MiniLM on an int8 dynamically quantized graph (issue 17 candidate, "
        "not shipped; its own cache folder)",
    )
    parser.add_argument(
        "--chunking",
        nargs="+",
        metavar="KEY=VALUE",
        help="build (and cache, in its own folder) the library with these window settings changed, e.g. "
        "piece_seconds=0 for whole-sentence pins (atlas.config.WindowSettings)",
    )
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="hybrid with each rerank variant (none, previous weights, shipped) over the same library",
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="write raw numbers and per-query ranks here"
    )
    parser.add_argument(
        "--show-misses", action="store_true", help="print hybrid misses at rank 5 with top hit"
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="also evaluate the same library on this PostgreSQL store (postgresql://...; its contents are "
        "replaced) and print both stores' R@5 with the difference (quality_store.py)",
    )
    args = parser.parse_args(argv)

    transcripts = load_transcripts(args.samples)
    if args.check:
        return 1 if check(load_queries(args.queries, transcripts), transcripts) else 0

    sys.path.insert(0, str(REPO / "src"))  # run from a checkout without installing
    transcripts = attach_audio_truth(transcripts)
    queries = load_queries(args.queries, transcripts)
    settings = library_settings(args.embedder, args.threads) if args.embedder else None
    embedder = None
    if args.window_vectors:
        settings = recipe_settings(args.window_vectors, args.embedder, args.threads)
        if args.int8:
            from bench_ingest import int8_embedder

            settings = settings.with_(
                library_dir=settings.library_dir.with_name(settings.library_dir.name + "-int8")
            )
            if not (settings.library_dir / "cache").exists() and (CACHE / "cache").is_dir():
                shutil.copytree(CACHE / "cache", settings.library_dir / "cache")  # Whisper's transcripts
            embedder = int8_embedder(settings.library_dir)
    if args.chunking:
        settings = chunking_settings(args.chunking, settings, args.threads)
    lib, ingest_seconds = open_library(
        args.samples,
        args.rebuild,
        args.threads,
        rerank=not args.no_rerank,
        settings=settings,
        embedder=embedder,
    )
    try:
        lib.search("warm up the model", limit=1, mode="vector")  # load the embedder outside the timings
        suite = run_suite(lib, queries, "", [cast("Mode", m) for m in args.modes], args.limit)
        ablations = run_ablations(lib, queries, args.limit) if args.ablation else []
        if args.store:
            from quality_store import compare_stores

            compare_stores(lib, args.store, queries, args.modes, args.limit, run_suite)
    finally:
        lib.close()
    note = " (hybrid without rerank)" if args.no_rerank else ""
    print(f"\ningest/verify: {ingest_seconds:.1f}s{note}")
    splits = list(SPLITS) if args.split == "both" else [args.split]
    print_suite(suite, splits)
    for ablation in ablations:
        print_suite(ablation, splits)
    if args.show_misses:
        reports = suite.split(splits[0] if len(splits) == 1 else "all")
        hybrid = next((rep for rep in reports if rep.mode == "hybrid"), reports[-1])
        show_misses(hybrid)
    if args.json:
        write_json(args.json, [suite, *ablations], ingest_seconds)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
