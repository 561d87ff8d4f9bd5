"""Answer quality and speed of `atlas ask`, per generator, over the three real transcripts in the samples.

    .venv/bin/python benchmarks/bench_answer.py --check                 # validate questions_answer.jsonl only
    .venv/bin/python benchmarks/bench_answer.py                         # extractive + bundled llama-cpp
    .venv/bin/python benchmarks/bench_answer.py --generators extractive --show-answers
    .venv/bin/python benchmarks/bench_answer.py --generators extractive,llama-cpp,llama-cpp:qwen-1.5b

A generator is a name, or ``name:model`` for a model other than its default (``llama-cpp:qwen-1.5b``, the
bundled 1.5B; ``llama-cpp:/path/to/any.gguf``).

Each question in questions_answer.jsonl names the video that answers it and its key facts; a fact is a list
of alternative phrasings (verified in the transcript by --check), recalled when the checked answer text holds
any of them. Columns:
  answered     share of questions with an answer (the rest said the library holds none)
  fact recall  share of all key facts recalled
  verified     share of the generator's own sentences that survived the support check (kept / kept + dropped;
               quotes the fallback put in for failed sentences are not counted as the model's)
  quoted       share of shown sentences that are such fallback quotes (always 0 for extractive itself)
  right video  share of kept sentences whose citations all point into the question's video
  tok/s        generation speed after the first token (streamed pieces per second; model tokens for llama)
  s/answer     mean seconds from the question to the checked answer (retrieval, prompt, generation, check)
The extractive generator is the baseline; the last column is s/answer relative to it.

The question set is written as a held-out test: do not edit it to make a generator look better.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atlas.library import Library

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
QUESTIONS = HERE / "questions_answer.jsonl"
CACHE = HERE / ".cache" / "answer-library"
SAMPLES: dict[str, str] = {
    "berkeley-ai-rubric-lecture": "berkeley-ai-rubric-lecture.whisper.txt",
    "mixture-of-experts-meetup": "mixture-of-experts-meetup.txt",
    "normconf-ml-cost-talk": "normconf-ml-cost-talk.txt",
}


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    video_id: str
    question: str
    facts: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Result:
    question: Question
    answered: bool
    facts_found: int
    kept: int
    own: int  # kept sentences the generator wrote (not fallback quotes)
    dropped: int
    right_video: int
    pieces: int
    generating_s: float
    total_s: float
    text: str


def load_questions(path: Path) -> list[Question]:
    questions = []
    for line in path.read_text().splitlines():
        if line.strip():
            raw = json.loads(line)
            facts = tuple(tuple(alt.lower() for alt in fact) for fact in raw["facts"])
            questions.append(Question(raw["id"], raw["video_id"], raw["question"], facts))
    return questions


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def check_questions(questions: list[Question], samples: Path) -> list[str]:
    """Every fact must be said in its video's transcript, in at least one of its phrasings."""
    problems = []
    for q in questions:
        transcript = _normalise((samples / SAMPLES[q.video_id]).read_text())
        problems += [
            f"{q.id}: {fact} not in {q.video_id}"
            for fact in q.facts
            if not any(a in transcript for a in fact)
        ]
    return problems


def open_library(samples: Path, directory: Path) -> Library:
    from atlas.config import resolve_settings
    from atlas.library import Library

    lib = Library.open(resolve_settings(library=directory))
    report = lib.ingest([str(samples / name) for name in SAMPLES.values()])  # a no-op when cached
    if report.failed:
        sys.exit(f"ingest failed: {[o.message for o in report.failed]}")
    return lib


def parse_generator(spec: str) -> tuple[str, str | None]:
    """``llama-cpp`` -> (llama-cpp, None); ``llama-cpp:qwen-1.5b`` -> (llama-cpp, qwen-1.5b)."""
    name, _, model = spec.partition(":")
    return name, model or None


def run(lib: Library, question: Question, spec: str, limit: int | None) -> Result:
    from atlas.models import AnswerDone, AnswerToken, AskOptions

    generator, model = parse_generator(spec)
    options = AskOptions(generator=generator, model=model, limit=limit)
    start = time.perf_counter()
    first = last = start
    pieces = 0
    answer = None
    for event in lib.ask_stream(question.question, options):
        if isinstance(event, AnswerToken):
            last = time.perf_counter()
            first = last if pieces == 0 else first
            pieces += 1
        elif isinstance(event, AnswerDone):
            answer = event.answer
    total = time.perf_counter() - start
    assert answer is not None
    text = _normalise(answer.text) if answer.answered else ""
    videos = {c.number: c.hit.video.video_id for c in answer.citations}
    right = sum(1 for s in answer.sentences if all(videos[n] == question.video_id for n in s.citations))
    return Result(
        question,
        answer.answered,
        sum(1 for fact in question.facts if any(alt in text for alt in fact)),
        len(answer.sentences),
        sum(1 for s in answer.sentences if generator == "extractive" or s.origin == "generated"),
        len(answer.dropped),
        right,
        pieces,
        last - first,
        total,
        answer.text,
    )


def summarise(generator: str, results: list[Result], baseline_s: float | None) -> list[str]:
    facts = sum(len(r.question.facts) for r in results)
    kept = sum(r.kept for r in results)
    own = sum(r.own for r in results)
    generated = own + sum(r.dropped for r in results)
    streamed = [(r.pieces - 1) / r.generating_s for r in results if r.pieces > 1 and r.generating_s > 0]
    seconds = statistics.mean(r.total_s for r in results)
    return [
        generator,
        f"{sum(r.answered for r in results)}/{len(results)}",
        f"{sum(r.facts_found for r in results) / facts:.2f}",
        f"{own / generated:.2f}" if generated else "—",
        f"{(kept - own) / kept:.2f}" if kept else "—",
        f"{sum(r.right_video for r in results) / kept:.2f}" if kept else "—",
        f"{statistics.median(streamed):.1f}" if streamed and generator != "extractive" else "—",
        f"{seconds:.1f}",
        f"{seconds / baseline_s:.1f}x" if baseline_s else "1.0x",
    ]


def print_table(rows: list[list[str]]) -> None:
    header = [
        "generator",
        "answered",
        "fact recall",
        "verified",
        "quoted",
        "right video",
        "tok/s",
        "s/answer",
        "vs base",
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=Path, default=REPO / "samples")
    parser.add_argument("--library", type=Path, default=CACHE, help="library to (re)use; ingested if needed")
    parser.add_argument("--generators", default="extractive,llama-cpp")
    parser.add_argument("--limit", type=int, default=None, help="moments per question (default: the setting)")
    parser.add_argument("--questions", default=None, help="only these question ids, e.g. a01,a05 (a subset)")
    parser.add_argument("--check", action="store_true", help="only validate the question set")
    parser.add_argument("--show-answers", action="store_true")
    args = parser.parse_args(argv)

    questions = load_questions(QUESTIONS)
    problems = check_questions(questions, args.samples)
    if problems or args.check:
        print("\n".join(problems) or f"{len(questions)} questions, every fact found in its transcript")
        return 1 if problems else 0

    if args.questions:
        wanted = set(args.questions.split(","))
        questions = [q for q in questions if q.id in wanted]
        if len(questions) != len(wanted):
            sys.exit(f"unknown question ids in --questions: {args.questions}")
    rows: list[list[str]] = []
    baseline_s: float | None = None
    with open_library(args.samples, args.library) as lib:
        for generator in args.generators.split(","):
            results = []
            for question in questions:
                result = run(lib, question, generator, args.limit)
                results.append(result)
                facts = f"{result.facts_found}/{len(question.facts)}"
                print(f"{generator:>20} {question.id} {result.total_s:6.1f}s facts {facts}", file=sys.stderr)
                if args.show_answers:
                    print(f"    {result.text}\n", file=sys.stderr)
            rows.append(summarise(generator, results, baseline_s))
            if baseline_s is None:
                baseline_s = statistics.mean(r.total_s for r in results)
    print(f"\n{len(questions)} questions over {len(SAMPLES)} transcripts")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
