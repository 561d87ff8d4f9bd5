"""Impossible cue times (negative, reversed, 99,999 hours) and unreadable timing lines: each file says what
was fixed or dropped, and every stored moment lies inside its window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas.config import Settings
from atlas.library import Library
from atlas.sources.cue_times import MAX_SECONDS
from tests.conftest import FAKE_EMBEDDER, run_cli

BAD_VTT = """WEBVTT

00:00:01.000 --> 00:00:03.000
The first cue is fine and talks about rockets.

-00:00:05.000 --> 00:00:06.000
A negative cue.

00:00:09.000 --> 00:00:07.000
This reversed cue talks about pelicans.

00:00:10.000 --> 99999:00:00.000
An absurd end about volcanoes.

99999:00:00.000 --> 99999:00:01.000
An absurd start about glaciers.

00:00:12.000 --> 00:00:13.000
The last cue talks about harbours.
"""

# Named .whisper.txt, but its arrows are "->": today it silently became untimed plain text.
BAD_WHISPER = """[00:00:01.000 -> 00:00:03.000] Pelicans fly low over the water.
[00:00:04.000 -> 00:00:06.000] Rockets rise above the harbour.
[00:00:07.000 -> 00:00:09.000] Glaciers move slowly.
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_cue_times_are_fixed_or_dropped_with_a_warning_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vtt = _write(tmp_path, "bad-times.vtt", BAD_VTT)
    whisper = _write(tmp_path, "talk.whisper.txt", BAD_WHISPER)
    library = tmp_path / "lib"
    code, out, err = run_cli(
        capsys, "ingest", str(vtt), str(whisper), "--json", "-L", str(library), "--embedder", FAKE_EMBEDDER
    )
    assert code == 0, err
    outcomes = {Path(o["target"]).name: o for o in json.loads(out)}
    vtt_warnings = " | ".join(outcomes["bad-times.vtt"]["warnings"])
    assert "1 timing line(s) could not be read" in vtt_warnings  # the negative cue, dropped by the parser
    assert "1 cue(s) starting after 48 h dropped" in vtt_warnings
    assert "1 cue end(s) after 48 h" in vtt_warnings
    assert "1 cue(s) ending before they start" in vtt_warnings
    assert "read as untimed text: 3 line(s)" in " ".join(outcomes["talk.whisper.txt"]["warnings"])
    warning_lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert any("bad-times.vtt" in line and "48 h" in line for line in warning_lines), err
    assert any("talk.whisper.txt" in line and "untimed" in line for line in warning_lines), err

    with Library.open(Settings(library_dir=library, embedder=FAKE_EMBEDDER), create=False) as lib:
        record = lib.get_record("bad-times")
        assert "glaciers" not in " ".join(s.text for s in record.transcript.segments)
        for segment in record.transcript.segments:
            assert segment.start is not None and segment.end is not None
            assert 0 <= segment.start <= segment.end <= MAX_SECONDS
        for window in record.windows:
            members = record.sentences[window.first_sentence : window.last_sentence + 1]
            for sentence in members:
                assert window.start is not None and window.end is not None and sentence.start is not None
                assert window.start <= sentence.start <= window.end
        assert (record.video.duration or 0) <= MAX_SECONDS

    for query in ("pelicans", "volcanoes", "harbours", "rockets"):
        code, out, _ = run_cli(capsys, "search", query, "--json", "--video", "bad-times", "-L", str(library))
        for hit in json.loads(out)["hits"]:
            assert hit["start"] <= hit["moment"] <= hit["end"], hit


def test_the_api_job_shows_the_warning(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from atlas.api.app import create_app
    from atlas.config import ServeSettings
    from tests.api.conftest import ingest

    data = tmp_path / "data"
    data.mkdir()
    vtt = _write(data, "bad-times.vtt", BAD_VTT)
    settings = Settings(library_dir=tmp_path / "lib", embedder=FAKE_EMBEDDER)
    serve = ServeSettings(host="127.0.0.1", allowed_dirs=(data.resolve(),))
    with TestClient(create_app(settings, serve), base_url="http://127.0.0.1:8000") as client:
        job = ingest(client, vtt)
    assert job["state"] == "done", job
    assert any("48 h" in w for w in job["outcomes"][0]["warnings"]), job
