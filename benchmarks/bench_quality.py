"""Retrieval quality of Atlas over the three real transcripts in the shared samples.

    .venv/bin/python benchmarks/bench_quality.py --check          # validate benchmarks/queries.jsonl only
    .venv/bin/python benchmarks/bench_quality.py                  # ingest (cached) + evaluate all modes
    .venv/bin/python benchmarks/bench_quality.py --show-misses --json out.json

A hit is relevant when it comes from the query's video and its window covers the query's answer quote:
after normalisation (lowercase, apostrophes dropped, other punctuation to spaces, whitespace collapsed)
the window holds the whole quote, or - because a quote may straddle a window boundary - a run of at least
half of the quote's words that starts at the quote's first word or ends at its last word. The anchoring
keeps a generic three-word phrase elsewhere in the talk from counting as a find.

The query set is written as a held-out test: do not edit it to make a system look better.
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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

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
TYPES = ("paraphrase", "question", "keyword")
TYPE_LABELS = {"paraphrase": "para", "question": "quest", "keyword": "kw"}  # table column prefixes
MODES: tuple[Mode, ...] = ("keyword", "vector", "hybrid")
CUTOFFS = (1, 5, 10)
MOMENT_TOLERANCE = 5.0  # seconds
QUOTE_WORDS = (6, 30)

_TIMED_LINE = re.compile(r"^\[(\d+):(\d\d):(\d\d(?:\.\d+)?)\s*-->\s*[\d:.]+\]\s?(.*)$")
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
    """A sample as a normalised word stream; for a timed file, the start time of each word's line."""

    video_id: str
    path: Path
    words: tuple[str, ...]
    times: tuple[float, ...] | None

    @classmethod
    def load(cls, video_id: str, path: Path) -> Transcript:
        raw = path.read_text(encoding="utf-8")
        lines = [line for line in raw.splitlines() if line.strip()]
        if lines and all(_TIMED_LINE.match(line) for line in lines):
            words: list[str] = []
            times: list[float] = []
            for line in lines:
                match = _TIMED_LINE.match(line)
                assert match is not None
                h, m, s, text = match.groups()
                start = int(h) * 3600 + int(m) * 60 + float(s)
                tokens = normalise(text)
                words.extend(tokens)
                times.extend([start] * len(tokens))
            return cls(video_id, path, tuple(words), tuple(times))
        return cls(video_id, path, tuple(normalise(raw)), None)


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    query: str
    type: str
    video_id: str
    answer: str
    quote: tuple[str, ...]
    answer_start: float | None  # seconds, timed transcripts only


def load_queries(path: Path, transcripts: dict[str, Transcript]) -> list[Query]:
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        quote = tuple(normalise(row["answer"]))
        start = None
        transcript = transcripts.get(row["video_id"])
        if transcript is not None and transcript.times is not None:
            found = find_all(transcript.words, quote)
            if found:
                start = transcript.times[found[0]]
        queries.append(
            Query(row["id"], row["query"], row["type"], row["video_id"], row["answer"], quote, start)
        )
    return queries


def load_transcripts(samples: Path) -> dict[str, Transcript]:
    return {vid: Transcript.load(vid, samples / name) for vid, name in SAMPLES.items()}


# -- --check -------------------------------------------------------------------------------------------------


def check(queries: list[Query], transcripts: dict[str, Transcript]) -> int:
    """Validate the query set; returns the number of errors (warnings do not count)."""
    errors: list[str] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for q in queries:
        where = f"{q.id} ({q.video_id})"
        if q.id in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(q.id)
        if q.type not in TYPES:
            errors.append(f"{where}: type {q.type!r} is not one of {TYPES}")
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
    print("by video: " + ", ".join(f"{v} {n}" for v, n in sorted(by_video.items())))
    for vid, transcript in transcripts.items():
        spots = sorted(
            find_all(transcript.words, q.quote)[0] / len(transcript.words)
            for q in queries
            if q.video_id == vid and find_all(transcript.words, q.quote)
        )
        print(f"  {vid}: answers at " + " ".join(f"{p:.0%}" for p in spots))
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
    moment_error: float | None  # |moment - answer start| for a relevant rank-1 hit on a timed video
    top: dict[str, Any] | None  # the rank-1 hit, for --show-misses and --json
    seconds: float


@dataclass(slots=True)
class ModeReport:
    mode: str
    results: list[QueryResult] = field(default_factory=list)

    def recall(self, k: int, type_: str | None = None) -> float:
        rows = self._rows(type_)
        return sum(1 for r in rows if r.rank is not None and r.rank <= k) / len(rows) if rows else math.nan

    def mrr(self, type_: str | None = None, k: int = 10) -> float:
        rows = self._rows(type_)
        return (
            sum(1 / r.rank for r in rows if r.rank is not None and r.rank <= k) / len(rows) if rows else 0.0
        )

    def moment_errors(self) -> list[float]:
        return [r.moment_error for r in self.results if r.moment_error is not None]

    def _rows(self, type_: str | None) -> list[QueryResult]:
        return [r for r in self.results if type_ is None or r.query.type == type_]

    def summary(self) -> dict[str, Any]:
        errors = self.moment_errors()
        return {
            "mode": self.mode,
            "queries": len(self.results),
            **{f"R@{k}": self.recall(k) for k in CUTOFFS},
            "MRR@10": self.mrr(),
            "by_type": {
                t: {"queries": len(self._rows(t)), "R@5": self.recall(5, t), "MRR@10": self.mrr(t)}
                for t in TYPES
            },
            "moment": {
                "measured": len(errors),
                "median_abs_error_s": statistics.median(errors) if errors else None,
                f"within_{MOMENT_TOLERANCE:g}s": (
                    sum(1 for e in errors if e <= MOMENT_TOLERANCE) / len(errors) if errors else None
                ),
            },
            "mean_query_ms": 1000 * statistics.fmean(r.seconds for r in self.results)
            if self.results
            else None,
        }


def relevant(hit: Hit, query: Query) -> bool:
    return bool(hit.video.video_id == query.video_id and covers(normalise(hit.window.text), query.quote))


def describe(hit: Hit) -> dict[str, Any]:
    return {
        "video_id": hit.video.video_id,
        "start": hit.window.start,
        "end": hit.window.end,
        "moment": hit.moment,
        "score": hit.score,
        "text": hit.window.text,
    }


def evaluate(lib: Library, queries: list[Query], mode: Mode, limit: int) -> ModeReport:
    report = ModeReport(mode)
    for q in queries:
        began = time.perf_counter()
        hits = lib.search(q.query, limit=limit, mode=mode)
        seconds = time.perf_counter() - began
        rank = next((i for i, hit in enumerate(hits, 1) if relevant(hit, q)), None)
        error = None
        if rank == 1 and q.answer_start is not None and hits[0].moment is not None:
            error = abs(float(hits[0].moment) - q.answer_start)
        report.results.append(QueryResult(q, rank, error, describe(hits[0]) if hits else None, seconds))
    return report


def open_library(
    samples: Path, rebuild: bool, threads: int | None, rerank: bool = True
) -> tuple[Library, float]:
    """Open the cached benchmark library, ingesting the samples into it (a no-op when already there)."""
    from atlas.config import resolve_settings
    from atlas.library import Library

    if rebuild and CACHE.exists():
        shutil.rmtree(CACHE)
    CACHE.mkdir(parents=True, exist_ok=True)
    settings = resolve_settings(library=CACHE, threads=threads)
    if not rerank:
        settings = settings.with_(search=replace(settings.search, rerank=False))
    lib = Library.open(settings)
    began = time.perf_counter()
    report = lib.ingest([str(samples / name) for name in SAMPLES.values()])
    took = time.perf_counter() - began
    for outcome in report.outcomes:
        name = outcome.video_id or outcome.target
        print(f"ingest {outcome.status:<9} {name}  {outcome.message or ''}".rstrip())
    if report.failed:
        lib.close()
        raise SystemExit("ingest failed; see above")
    stored = {v.video_id for v in lib.list_videos()}
    missing = set(SAMPLES) - stored
    if missing:
        lib.close()
        raise SystemExit(
            f"the library does not hold the expected video ids {sorted(missing)} (it has {stored})"
        )
    return lib, took


# -- output --------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


def table(reports: list[ModeReport]) -> str:
    type_counts = Counter(r.query.type for r in reports[0].results) if reports else Counter()
    header = ["mode", "n", "R@1", "R@5", "R@10", "MRR@10"]
    for t in TYPES:
        header += [f"{TYPE_LABELS[t]}R@5", f"{TYPE_LABELS[t]}MRR"]
    header += ["mom.med", f"mom±{MOMENT_TOLERANCE:g}s", "ms/q"]
    rows = [header]
    for rep in reports:
        s = rep.summary()
        row = [rep.mode, str(s["queries"]), *(_pct(s[f"R@{k}"]) for k in CUTOFFS), _pct(s["MRR@10"])]
        for t in TYPES:
            row += [_pct(s["by_type"][t]["R@5"]), _pct(s["by_type"][t]["MRR@10"])]
        moment = s["moment"]
        med = moment["median_abs_error_s"]
        row += [
            "-" if med is None else f"{med:.1f}s",
            "-"
            if moment[f"within_{MOMENT_TOLERANCE:g}s"] is None
            else _pct(moment[f"within_{MOMENT_TOLERANCE:g}s"]),
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
    counts = ", ".join(f"{t} {type_counts[t]}" for t in TYPES)
    timed = sum(1 for r in reports[0].results if r.query.answer_start is not None) if reports else 0
    measured = ", ".join(f"{rep.mode} {len(rep.moment_errors())}" for rep in reports)
    lines.append(
        f"queries by type: {counts}; moment error over relevant rank-1 hits of the {timed} timed queries "
        f"(measured: {measured})"
    )
    return "\n".join(lines)


def show_misses(report: ModeReport, k: int = 5) -> None:
    misses = [r for r in report.results if r.rank is None or r.rank > k]
    print(f"\n{report.mode}: {len(misses)} of {len(report.results)} queries miss at rank {k}")
    for r in misses:
        q = r.query
        found = "not in top results" if r.rank is None else f"first relevant at rank {r.rank}"
        print(f"\n[{q.id}] ({q.type}, {q.video_id}) {q.query!r} - {found}")
        print(f"  want: {q.answer}")
        if r.top is None:
            print("  top:  (no hits)")
            continue
        t = r.top
        when = "" if t["start"] is None else f" @{t['start']:.0f}s"
        text = " ".join(str(t["text"]).split())
        print(f"  top:  {t['video_id']}{when}: {text[:300]}{'...' if len(text) > 300 else ''}")


def write_json(path: Path, reports: list[ModeReport], ingest_seconds: float | None) -> None:
    payload = {
        "ingest_seconds": ingest_seconds,
        "modes": [rep.summary() for rep in reports],
        "queries": {
            rep.mode: [
                {
                    "id": r.query.id,
                    "type": r.query.type,
                    "video_id": r.query.video_id,
                    "rank": r.rank,
                    "moment_error_s": r.moment_error,
                    "top": r.top,
                    "seconds": r.seconds,
                }
                for r in rep.results
            ]
            for rep in reports
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# -- main ----------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="validate the query set and exit")
    parser.add_argument(
        "--samples", type=Path, default=DEFAULT_SAMPLES, help="folder with the three transcripts"
    )
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--rebuild", action="store_true", help="re-create the cached benchmark library")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--limit", type=int, default=10, help="hits requested per query (default 10)")
    parser.add_argument("--threads", type=int, default=None, help="embedder threads (default: Atlas's)")
    parser.add_argument("--no-rerank", action="store_true", help="ablation: hybrid without the rerank stage")
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="write raw numbers and per-query ranks here"
    )
    parser.add_argument(
        "--show-misses", action="store_true", help="print hybrid misses at rank 5 with top hit"
    )
    args = parser.parse_args(argv)

    transcripts = load_transcripts(args.samples)
    queries = load_queries(args.queries, transcripts)
    if args.check:
        return 1 if check(queries, transcripts) else 0

    sys.path.insert(0, str(REPO / "src"))  # run from a checkout without installing
    lib, ingest_seconds = open_library(args.samples, args.rebuild, args.threads, rerank=not args.no_rerank)
    try:
        lib.search("warm up the model", limit=1, mode="vector")  # load the embedder outside the timings
        reports = [evaluate(lib, queries, cast("Mode", mode), args.limit) for mode in args.modes]
    finally:
        lib.close()
    note = " (hybrid without rerank)" if args.no_rerank else ""
    print(f"\ningest/verify: {ingest_seconds:.1f}s{note}\n")
    print(table(reports))
    if args.show_misses:
        hybrid = next((rep for rep in reports if rep.mode == "hybrid"), reports[-1])
        show_misses(hybrid)
    if args.json:
        write_json(args.json, reports, ingest_seconds)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
