"""Chapters end to end: ``atlas chapters`` in-process (hashing embedder), and a synthesized three-topic
recording (espeak-ng -> MP3 -> Library.ingest with real Whisper and MiniLM) whose chapters must start near
where the topic really changes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.library import Library
from tests.conftest import FAKE_EMBEDDER, ROOT, SAMPLES, run_cli
from tests.speech import Utterance, build_utterances, encode, espeak_available

TALKS = ROOT / "benchmarks" / "talks"


@pytest.fixture
def lib_args(tmp_path: Path) -> list[str]:
    return ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER]


def test_chapters_cli_table_json_and_errors(capsys: pytest.CaptureFixture[str], lib_args: list[str]) -> None:
    code, _, _ = run_cli(capsys, "ingest", str(SAMPLES), "--quiet", *lib_args)
    assert code == 0
    library_only = lib_args[:2]
    code, out, _ = run_cli(capsys, "chapters", "berkeley-ai-rubric-lecture", "--json", *library_only)
    assert code == 0
    payload = json.loads(out)
    assert payload["video_id"] == "berkeley-ai-rubric-lecture" and payload["titles"] == "keyphrase"
    chapters = payload["chapters"]
    assert len(chapters) >= 3 and chapters[0]["start"] == 0.0
    assert all(b["start"] > a["start"] for a, b in itertools.pairwise(chapters))

    code, out, _ = run_cli(capsys, "chapters", "berkeley-ai-rubric-lecture", *library_only)
    assert code == 0 and "0:00:00" in out and chapters[1]["title"].split(",")[0] in out

    code, out, _ = run_cli(capsys, "chapters", "normconf-ml-cost-talk", "--max", "300", *library_only)
    assert code == 0 and "untimed transcript" in out

    code, _, err = run_cli(capsys, "chapters", "no-such-video", *library_only)
    assert code == 4 and "no-such-video" in err
    code, _, err = run_cli(
        capsys, "chapters", "berkeley-ai-rubric-lecture", "--min", "900", "--max", "60", *library_only
    )
    assert code == 2 and "chapter lengths" in err
    code, _, _ = run_cli(capsys, "chapters", "berkeley-ai-rubric-lecture", "--titles", "poem", *library_only)
    assert code == 2


def _lines(name: str) -> list[str]:
    """The spoken lines of a benchmark talk's text ([speaker] tags and # comments dropped)."""
    out = []
    for raw in (TALKS / name).read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.startswith("#"):
            out.append(raw.split("] ", 1)[1] if raw.startswith("[") else raw.strip())
    return out


def _excerpt(lines: list[str], begin: int, words: int) -> list[str]:
    taken: list[str] = []
    for line in lines[begin:]:
        taken.append(line)
        if sum(len(t.split()) for t in taken) >= words:
            break
    return taken


# Three talks on unrelated subjects, ~100 s each at 175 words per minute: the cost of serving an ML model, a
# motion sensor's circuit board, podcast advertising.
TOPICS = (
    (SAMPLES / "normconf-ml-cost-talk.txt", 120),
    (TALKS / "pir-sensor-teardown.txt", 40),
    (TALKS / "podnews-weekly-review.txt", 60),
)


@pytest.mark.slow
@pytest.mark.real_model
@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (scripts/system-deps.sh)")
def test_chapters_start_where_the_spoken_topic_changes(tmp_path: Path) -> None:
    utterances: list[Utterance] = []
    firsts: list[int] = []
    for path, begin in TOPICS:
        lines = path.read_text(encoding="utf-8").splitlines() if path.parent == SAMPLES else _lines(path.name)
        firsts.append(len(utterances))
        # The same short pauses everywhere: nothing but what is said marks a change of topic.
        utterances += [Utterance(text, 0.5) for text in _excerpt([x for x in lines if x.strip()], begin, 290)]
    recording = build_utterances(utterances, lead=1.0, tail=1.0)
    changes = [recording.starts[i] for i in firsts[1:]]
    mp3 = encode(recording, tmp_path / "three-topics.mp3")

    with Library.open(Settings(library_dir=tmp_path / "library", threads=2)) as lib:
        report = lib.ingest([str(mp3)])
        assert not report.failed, report.failed
        video_id = report.outcomes[0].video_id or ""
        result = lib.chapters(video_id)

    starts = [c.start for c in result.chapters]
    assert all(s is not None for s in starts) and starts[0] == 0.0
    assert 3 <= len(result.chapters) <= 5, result.chapters
    for change in changes:
        nearest = min(abs((s or 0.0) - change) for s in starts[1:])
        assert nearest <= 30.0, (change, starts, [c.title for c in result.chapters])
    assert all(c.title for c in result.chapters)
    assert result.chapters[1].url.startswith(mp3.as_uri())
