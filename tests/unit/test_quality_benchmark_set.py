"""The retrieval-quality benchmark's query set stays valid: verbatim answers, paraphrases without the answer's
content words, the recorded dev/test split, and the rolling-caption talk's truth read back from its VTT.

No model, no audio: the benchmark's own ``--check`` over the committed files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

bench_quality = pytest.importorskip("bench_quality")
quality_talks = pytest.importorskip("quality_talks")


def test_query_set_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    transcripts = bench_quality.load_transcripts(bench_quality.DEFAULT_SAMPLES)
    queries = bench_quality.load_queries(bench_quality.QUERIES, transcripts)
    assert bench_quality.check(queries, transcripts) == 0, capsys.readouterr().out
    assert len(queries) >= 150
    assert len({q.video_id for q in queries}) >= 6
    assert {q.split for q in queries} == {"dev", "test"}


def test_split_rule() -> None:
    assert bench_quality.expected_split("q01", 0) == "dev"
    assert bench_quality.expected_split("q54", 7) == "test"
    assert [bench_quality.expected_split("q100", i) for i in range(3)] == ["dev", "test", "dev"]


def test_rolling_vtt_lines_start_at_their_first_word() -> None:
    lines = quality_talks.read_rolling_lines(quality_talks.ROLLING_VTT)
    assert len(lines) > 300
    starts = [start for start, _, _ in lines]
    assert starts == sorted(starts)
    assert lines[0] == (0.0, lines[0][1], "it is so stinking nice to like show")
    text = quality_talks.ROLLING_VTT.read_text(encoding="utf-8")
    assert "00:00:00.000 --> 00:00:03.190 align:start position:0%\n \nit<00:00:00.400><c> is</c>" in text


def test_clause_split_keeps_every_word() -> None:
    sentence = " ".join(f"w{i}" for i in range(30)) + ", and then " + " ".join(f"v{i}" for i in range(30))
    parts = quality_talks.split_clauses(sentence)
    assert " ".join(parts) == sentence
    assert all(len(p.split()) <= quality_talks.MAX_LINE_WORDS for p in parts)


def test_the_read_aloud_talk_keeps_every_word_and_every_query_finds_its_line(tmp_path: Path) -> None:
    bench_reading = pytest.importorskip("bench_reading")
    text = (bench_quality.DEFAULT_SAMPLES / bench_quality.SAMPLES[bench_reading.TALK_ID]).read_text()
    lines = bench_reading.spoken_lines(text)
    spoken = [line for line in lines if line]
    assert " ".join(spoken).split() == text.split()  # nothing dropped, nothing reordered
    assert max(len(line.split()) for line in spoken) <= bench_reading.MAX_LINE_WORDS
    talk = tmp_path / "reading.txt"
    talk.write_text("\n".join(lines) + "\n")
    transcript = bench_quality.Transcript.load(bench_reading.READING_ID, talk, "asr-audio")
    starts = [float(i) for i in range(len(spoken))]
    timed = {bench_reading.READING_ID: transcript.with_spans(starts, [s + 0.5 for s in starts])}
    pointed = bench_reading.pointed_queries()
    (tmp_path / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pointed))
    queries = bench_quality.load_queries(tmp_path / "queries.jsonl", timed)
    assert len(queries) >= 20 and all(q.truth_start is not None for q in queries)
