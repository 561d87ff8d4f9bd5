"""Answer quality and speed of `atlas ask`, per generator, over six talks: the three real transcripts in the
samples, the rolling-caption WebVTT and the two espeak-ng audio talks that bench_quality.py also ingests (the
audio talks as Whisper transcribed them; its transcripts are copied from bench_quality's cached library when
that exists, so nothing is transcribed twice).

    .venv/bin/python benchmarks/bench_answer.py --check                 # validate questions_answer.jsonl only
    .venv/bin/python benchmarks/bench_answer.py                         # extractive + bundled llama-cpp
    .venv/bin/python benchmarks/bench_answer.py --split dev --generators extractive --show-answers
    .venv/bin/python benchmarks/bench_answer.py --generators extractive,llama-cpp,llama-cpp:qwen-1.5b
    .venv/bin/python benchmarks/bench_answer.py --embedder all-mpnet-base-v2 --generators extractive
    .venv/bin/python benchmarks/bench_answer.py --record /tmp/answer-run.jsonl \
        --generators extractive@whole,extractive,llama-cpp@whole,llama-cpp   # before/after, one run

A generator is a name, or ``name:model`` for a model other than its default (``llama-cpp:qwen-1.5b``, the
bundled 1.5B; ``llama-cpp:/path/to/any.gguf``), optionally with ``@whole``: the question retrieved as one
query and whole windows packed (how ``ask`` read before question-shaped retrieval; ``AnswerSettings.
question_parts=False``), to compare with the shipped question-shaped retrieval in one run.

Each question in questions_answer.jsonl names the video that answers it, its split (dev: for tuning; test:
held out, report only) and its key facts; a fact is a list of alternative phrasings (each fact verified by
--check against the transcript text the library indexes), recalled when the checked answer text holds any of
them. One table per split (``--split dev|test|both``). Columns:
  answered     share of questions with an answer (the rest said the library holds none)
  fact recall  share of all key facts recalled
  verified     share of the generator's own sentences that survived the support check (kept / kept + dropped;
               quotes the fallback put in for failed sentences are not counted as the model's)
  quoted       share of shown sentences that are such fallback quotes (always 0 for extractive itself)
  right video  share of kept sentences whose citations all point into the question's video
  tok/s        generation speed after the first token (streamed pieces per second; model tokens for llama)
  s/answer     mean seconds from the question to the checked answer (retrieval, prompt, generation, check)
The first generator listed is the baseline; the last column is s/answer relative to it. Generators answer
question by question in turn (each variant of a generator meets the same load); ``--record FILE`` appends
every result as it comes, and ``--tables-from FILE`` prints the tables of such a file, of a run cut short on
the questions that every generator answered.

The question set was written from the transcripts before any answer was looked at: do not edit it to make a
generator look better, and tune on dev only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from quality_talks import AUDIO_TALKS, ROLLING_VTT, build_audio

if TYPE_CHECKING:
    from atlas.library import Library

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
QUESTIONS = HERE / "questions_answer.jsonl"
CACHE = HERE / ".cache" / "answer-library"
QUALITY_CACHE = HERE / ".cache" / "quality-library"  # bench_quality's library: Whisper's transcripts
SAMPLES: dict[str, str] = {
    "berkeley-ai-rubric-lecture": "berkeley-ai-rubric-lecture.whisper.txt",
    "mixture-of-experts-meetup": "mixture-of-experts-meetup.txt",
    "normconf-ml-cost-talk": "normconf-ml-cost-talk.txt",
}
TALKS = (*SAMPLES, "buzzcast-video-experiment", *(talk.video_id for talk in AUDIO_TALKS))
SPLITS = ("dev", "test")
# ``generator@variant``: answer settings that replace the shipped ones for that run (the "before" of a change)
VARIANTS: dict[str, dict[str, object]] = {"whole": {"question_parts": False}}


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    video_id: str
    split: str
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
            questions.append(Question(raw["id"], raw["video_id"], raw["split"], raw["question"], facts))
    return questions


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def indexed_text(lib: Library, video_id: str) -> str:
    """A video's transcript as the library indexed it (its sentences; Whisper's words for the audio talks)."""
    return _normalise(" ".join(s.text for s in lib.get_record(video_id).sentences))


def check_questions(questions: list[Question], lib: Library) -> list[str]:
    """Every question names a known talk and a split; every fact is said in its video's indexed transcript,
    in at least one of its phrasings."""
    problems = []
    texts = {video_id: indexed_text(lib, video_id) for video_id in TALKS}
    for q in questions:
        if q.video_id not in texts:
            problems.append(f"{q.id}: unknown video {q.video_id}")
            continue
        if q.split not in SPLITS:
            problems.append(f"{q.id}: split {q.split!r} is not one of {SPLITS}")
        problems += [
            f"{q.id}: {fact} not in {q.video_id}"
            for fact in q.facts
            if not any(a in texts[q.video_id] for a in fact)
        ]
    return problems


def open_library(samples: Path, directory: Path, embedder: str | None = None) -> Library:
    """The benchmark library, with every talk ingested (a no-op for what it holds). The audio talks' MP3s are
    synthesised once into the cache; Whisper's transcripts come from bench_quality's library if it has
    them. ``embedder``: build it with another embedder than Atlas's default (a library keeps the one it was
    built with)."""
    from atlas.config import resolve_settings
    from atlas.library import Library

    transcripts = QUALITY_CACHE / "cache" / "transcripts"
    if transcripts.is_dir() and directory.resolve() != QUALITY_CACHE.resolve():
        shutil.copytree(transcripts, directory / "cache" / "transcripts", dirs_exist_ok=True)
    for talk in AUDIO_TALKS:
        build_audio(talk, quiet=True)
    lib = Library.open(resolve_settings(library=directory, embedder=embedder))
    targets = [
        *(str(samples / name) for name in SAMPLES.values()),
        str(ROLLING_VTT),
        *(str(talk.mp3) for talk in AUDIO_TALKS),
    ]
    report = lib.ingest(targets)  # a no-op when cached
    if report.failed:
        lib.close()
        sys.exit(f"ingest failed: {[o.message for o in report.failed]}")
    missing = set(TALKS) - {v.video_id for v in lib.list_videos()}
    if missing:
        lib.close()
        sys.exit(f"the library does not hold the talks {sorted(missing)}")
    return lib


def parse_generator(spec: str) -> tuple[str, str | None, str | None]:
    """``llama-cpp`` -> (llama-cpp, None, None); ``llama-cpp:qwen-1.5b@whole`` -> (llama-cpp, qwen-1.5b,
    whole)."""
    spec, _, variant = spec.partition("@")
    name, _, model = spec.partition(":")
    if variant and variant not in VARIANTS:
        sys.exit(f"unknown variant @{variant}: use one of {sorted(VARIANTS)}")
    return name, model or None, variant or None


def run(lib: Library, question: Question, spec: str, limit: int | None) -> Result:
    from atlas.models import AnswerDone, AnswerToken, AskOptions

    generator, model, _ = parse_generator(spec)
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
    extractive = parse_generator(generator)[0] == "extractive"
    return [
        generator,
        f"{sum(r.answered for r in results)}/{len(results)}",
        f"{sum(r.facts_found for r in results) / facts:.2f}",
        f"{own / generated:.2f}" if generated else "—",
        f"{(kept - own) / kept:.2f}" if kept else "—",
        f"{sum(r.right_video for r in results) / kept:.2f}" if kept else "—",
        f"{statistics.median(streamed):.1f}" if streamed and not extractive else "—",
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
    parser.add_argument(
        "--embedder",
        default=None,
        help="build the library with this embedder, e.g. all-mpnet-base-v2, in its own cache folder unless "
        "--library names one (default: Atlas's)",
    )
    parser.add_argument("--limit", type=int, default=None, help="moments per question (default: the setting)")
    parser.add_argument("--questions", default=None, help="only these question ids, e.g. a01,a05 (a subset)")
    parser.add_argument(
        "--split", choices=[*SPLITS, "both"], default="both", help="which questions (default both)"
    )
    parser.add_argument("--check", action="store_true", help="only validate the question set")
    parser.add_argument("--show-answers", action="store_true")
    parser.add_argument(
        "--record", type=Path, default=None, help="append each result to this JSON-lines file"
    )
    parser.add_argument(
        "--tables-from",
        type=Path,
        default=None,
        help="print the tables of a --record file (cut short: on the questions all generators answered)",
    )
    args = parser.parse_args(argv)

    questions = load_questions(QUESTIONS)
    if args.split != "both":
        questions = [q for q in questions if q.split == args.split]
    if args.questions:
        wanted = set(args.questions.split(","))
        questions = [q for q in questions if q.id in wanted]
        if len(questions) != len(wanted):
            sys.exit(
                f"unknown question ids in --questions (or not in --split {args.split}): {args.questions}"
            )
    specs = args.generators.split(",")
    for spec in specs:
        parse_generator(spec)  # a misspelt variant fails before any answer
    if args.tables_from:
        results = read_record(args.tables_from, questions, specs)
        print_tables(questions, specs, results)
        return 0
    directory = args.library
    if args.embedder and directory == CACHE:
        directory = CACHE.with_name(f"{CACHE.name}-{args.embedder.replace('/', '_')}")
    with open_library(args.samples, directory, args.embedder) as lib:
        problems = check_questions(questions, lib)
        if args.check:
            talks = len({q.video_id for q in questions})
            ok = f"{len(questions)} questions over {talks} talks, every fact found in its indexed transcript"
            print("\n".join(problems) or ok)
            return 1 if problems else 0
        if problems:
            # Whisper may hear an audio talk differently from run to run of the synthesis (a fact's number
            # heard as another word): such a fact cannot be recalled by any generator, and still counts.
            print("warning, facts that no generator can recall this run:\n  " + "\n  ".join(problems))
        shipped = lib.settings
        results: dict[str, list[Result]] = {spec: [] for spec in specs}
        # Question by question, every generator in turn: the variants of one generator meet the same load, and
        # a run cut short still compares them on the same questions (--record, --tables-from).
        for question in questions:
            for spec in specs:
                _, _, variant = parse_generator(spec)
                changes = VARIANTS[variant] if variant else {}
                lib.settings = shipped.with_(answer=shipped.answer.with_(**changes)) if changes else shipped
                result = run(lib, question, spec, args.limit)
                results[spec].append(result)
                facts = f"{result.facts_found}/{len(question.facts)}"
                line = f"{spec:>20} {question.id} {question.split:<4} {result.total_s:6.1f}s facts {facts}"
                print(line, file=sys.stderr)
                if args.show_answers:
                    print(f"    {result.text}\n", file=sys.stderr)
                if args.record:
                    with args.record.open("a") as out:
                        out.write(json.dumps({"spec": spec, **record(result)}) + "\n")
        lib.settings = shipped
    print_tables(questions, specs, results)
    return 0


def record(result: Result) -> dict[str, object]:
    row = {name: getattr(result, name) for name in Result.__slots__ if name != "question"}  # type: ignore[attr-defined]
    return {"id": result.question.id, **row}


def read_record(path: Path, questions: list[Question], specs: list[str]) -> dict[str, list[Result]]:
    """The results of a --record file for ``specs``, on the questions that every one of them answered."""
    by_id = {q.id: q for q in questions}
    rows: dict[str, dict[str, Result]] = {spec: {} for spec in specs}
    for line in path.read_text().splitlines():
        raw = json.loads(line)
        if raw["spec"] in rows and raw["id"] in by_id:
            fields = {k: v for k, v in raw.items() if k not in ("spec", "id")}
            rows[raw["spec"]][raw["id"]] = Result(question=by_id[raw["id"]], **fields)
    done = [q for q in questions if all(q.id in rows[spec] for spec in specs)]
    return {spec: [rows[spec][q.id] for q in done] for spec in specs}


def print_tables(questions: list[Question], specs: list[str], results: dict[str, list[Result]]) -> None:
    """One table per split: the first generator is the baseline of the last column."""
    for split in SPLITS:
        rows: list[list[str]] = []
        baseline_s: float | None = None
        for spec in specs:
            chosen = [r for r in results[spec] if r.question.split == split]
            if not chosen:
                break
            rows.append(summarise(spec, chosen, baseline_s))
            if baseline_s is None:
                baseline_s = statistics.mean(r.total_s for r in chosen)
        if rows:
            asked = [r.question for r in results[specs[0]] if r.question.split == split]
            talks = len({q.video_id for q in asked})
            print(f"\n{split}: {len(asked)} questions over {talks} talks")
            print_table(rows)


if __name__ == "__main__":
    raise SystemExit(main())
