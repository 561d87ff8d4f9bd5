"""The `atlas` command end to end: in-process with the hashing embedder, and one real subprocess run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAKE_EMBEDDER, SAMPLES, run_cli


@pytest.fixture
def lib_args(tmp_path: Path) -> list[str]:
    return ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER]


def test_ingest_search_json_list_show_remove(capsys: pytest.CaptureFixture[str], lib_args: list[str]) -> None:
    code, out, _ = run_cli(capsys, "ingest", str(SAMPLES), "--quiet", *lib_args)
    assert code == 0
    code, out, _ = run_cli(capsys, "search", "Gradescope grading", "--json", "--limit", "3", *lib_args)
    assert code == 0
    payload = json.loads(out)
    assert payload["query"] == "Gradescope grading"
    assert 1 <= len(payload["hits"]) <= 3
    required = {"video_id", "title", "source", "start", "end", "moment", "text", "snippet", "url", "score"}
    assert required <= set(payload["hits"][0])
    assert payload["hits"][0]["video_id"] == "berkeley-ai-rubric-lecture"

    code, out, _ = run_cli(capsys, "search", "Gradescope", *lib_args)
    assert code == 0 and "Gradescope" in out and "0:00:" in out

    library_only = lib_args[:2]
    code, out, _ = run_cli(capsys, "list", "--json", *library_only)
    assert code == 0 and {v["video_id"] for v in json.loads(out)} == {
        "berkeley-ai-rubric-lecture",
        "mixture-of-experts-meetup",
        "normconf-ml-cost-talk",
    }
    code, out, _ = run_cli(capsys, "show", "berkeley-ai-rubric-lecture", *library_only)
    assert code == 0 and "welcome back everyone" in out
    code, _, _ = run_cli(capsys, "remove", "normconf-ml-cost-talk", *library_only)
    assert code == 0
    code, _, err = run_cli(capsys, "show", "normconf-ml-cost-talk", *library_only)
    assert code == 4 and "atlas list" in err


def test_batch_queries_from_stdin(
    capsys: pytest.CaptureFixture[str], lib_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(capsys, "ingest", str(SAMPLES / "normconf-ml-cost-talk.txt"), "--quiet", *lib_args)
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("Pedalboard\n\nGPU cost\n"))
    code, out, _ = run_cli(capsys, "search", "-", "--json", *lib_args)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [obj["query"] for obj in lines] == ["Pedalboard", "GPU cost"]


def test_bad_input_exit_codes_and_one_line_errors(
    capsys: pytest.CaptureFixture[str], lib_args: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.vtt"
    bad.write_text("not a caption\n")
    good = tmp_path / "good.srt"
    good.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello world.\n\n")
    code, _, err = run_cli(capsys, "ingest", str(bad), str(good), "--quiet", *lib_args)
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "bad.vtt" in error_lines[0]
    code, out, _ = run_cli(capsys, "list", "--json", *lib_args[:2])
    assert [v["video_id"] for v in json.loads(out)] == ["good"]
    code, _, err = run_cli(capsys, "search", "x", "--after", "yesterday", *lib_args)
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = run_cli(capsys, "search", "hello", "--library", str(tmp_path / "nowhere"))
    assert code == 4 and "no Atlas library" in err
    code, _, err = run_cli(capsys, "search", "hello", "--embedder", "fake/hashing-32", *lib_args[:2])
    assert code == 3 and "fake/hashing-64" in err


def test_export_import_cli(capsys: pytest.CaptureFixture[str], lib_args: list[str], tmp_path: Path) -> None:
    run_cli(capsys, "ingest", str(SAMPLES / "normconf-ml-cost-talk.txt"), "--quiet", *lib_args)
    dump = tmp_path / "dump.jsonl"
    assert run_cli(capsys, "export", str(dump), *lib_args[:2])[0] == 0
    code, out, _ = run_cli(capsys, "import", str(dump), "--library", str(tmp_path / "copy"))
    assert code == 0 and "1 added" in out


@pytest.mark.real_model
def test_real_binary_with_bundled_model(tmp_path: Path) -> None:
    """The installed `atlas` script, the real MiniLM model, a real transcript, in a fresh process."""
    atlas = Path(sys.executable).with_name("atlas")
    env = {**os.environ, "ATLAS_LIBRARY": str(tmp_path / "lib"), "HF_HUB_OFFLINE": "1"}
    env.pop("ATLAS_EMBEDDER", None)
    subprocess.run(
        [str(atlas), "ingest", str(SAMPLES / "normconf-ml-cost-talk.txt"), "--quiet"],
        env=env,
        check=True,
        timeout=600,
    )
    done = subprocess.run(
        [str(atlas), "search", "a python library for processing sound", "--json"],
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    hits = json.loads(done.stdout)["hits"]
    assert hits[0]["video_id"] == "normconf-ml-cost-talk"
    assert any("Pedalboard" in h["text"] for h in hits[:3])


def test_doctor_reports_counts_features_and_problems(
    capsys: pytest.CaptureFixture[str], lib_args: list[str]
) -> None:
    code, _, _ = run_cli(capsys, "ingest", str(SAMPLES), "--quiet", *lib_args)
    assert code == 0
    code, out, _ = run_cli(capsys, "doctor", "--json", *lib_args[:2])
    report = json.loads(out)
    assert code == 0 and report["problems"] == []
    assert report["counts"]["videos"] == 3 and report["counts"]["windows"] > 100
    assert report["embedder"] == FAKE_EMBEDDER
    assert {f["name"] for f in report["features"]} >= {"YouTube", "HTTP API and web page"}

    # Damage the store behind Atlas's back: a window whose video row is gone.
    import sqlite3

    db = sqlite3.connect(Path(lib_args[1]) / "atlas.db")
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("DELETE FROM videos WHERE video_id = 'normconf-ml-cost-talk'")
    db.commit()
    db.close()
    code, out, _ = run_cli(capsys, "doctor", *lib_args[:2])
    assert code == 3 and "problem" in out
