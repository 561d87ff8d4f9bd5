"""Huge transcripts: progress lines on stderr when it is not a terminal, sane chunks for one long unpunctuated
line, and a stated size limit with a one-line refusal."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from atlas.cli import progress_lines
from atlas.config import Settings, WindowSettings
from atlas.library import Library
from atlas.sources.transcript_files import MAX_BYTES
from tests.conftest import FAKE_EMBEDDER, run_cli


def _one_line(path: Path, words: int) -> Path:
    """Speech-to-text without punctuation or line breaks, as a pasted caption dump looks."""
    rng = random.Random(7)
    vocabulary = ["rocket", "pelican", "harbour", "glacier", "volcano", "river", "engine", "budget", "model"]
    path.write_text(" ".join(rng.choice(vocabulary) for _ in range(words)), encoding="utf-8")
    return path


def test_a_long_one_line_transcript_shows_progress_lines_and_is_chunked_sanely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress_lines, "EVERY_S", 0.0)  # every update, not one per 5 s: the test stays short
    dump = _one_line(tmp_path / "dump.txt", 40_000)
    library = tmp_path / "lib"
    # stderr is captured here, not a terminal: the default (auto) prints plain lines.
    code, _, err = run_cli(capsys, "ingest", str(dump), "-L", str(library), "--embedder", FAKE_EMBEDDER)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0] == f"ingest 1/1: {dump}"
    embed = [line for line in lines if line.strip().startswith("embed ") and "%" in line]
    assert len(embed) >= 2 and embed[-1].strip().endswith("(100%)"), err
    assert any(line.strip().startswith("added,") for line in lines), err
    assert "\x1b[" not in err  # lines, not a redrawn bar

    with Library.open(Settings(library_dir=library, embedder=FAKE_EMBEDDER), create=False) as lib:
        record = lib.get_record("dump")
    settings = WindowSettings()
    assert max(len(s.text.split()) for s in record.sentences) <= settings.max_sentence_words
    assert max(len(w.text.split()) for w in record.windows) <= settings.max_words
    assert len(record.windows) >= 40_000 // settings.max_words


def test_progress_off_and_quiet_print_no_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dump = _one_line(tmp_path / "dump.txt", 300)
    for flag in (["--progress", "off"], ["--quiet"]):
        lib = ["-L", str(tmp_path / flag[-1]), "--embedder", FAKE_EMBEDDER]
        code, _, err = run_cli(capsys, "ingest", str(dump), *flag, *lib)
        assert code == 0 and "ingest 1/1" not in err, err


def test_a_transcript_over_the_limit_is_refused_in_one_line_naming_the_file_limit_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "joined.txt"
    big.write_bytes(b"word " * (MAX_BYTES // 5 + 1))
    small = _one_line(tmp_path / "small.txt", 200)
    lib = ["-L", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER]
    code, out, err = run_cli(capsys, "ingest", str(big), str(small), "--progress", "off", *lib)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert str(big) in errors[0] and "the limit is 4 MiB" in errors[0] and "split" in errors[0]
    assert "1 added" in out  # the file after it still went in
