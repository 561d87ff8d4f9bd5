"""`python -m atlas ingest` on bad media, in a real process: one line per bad file, exit 2, and the good file
in the same batch still ingested (nothing half-indexed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAKE_EMBEDDER
from tests.fake_plugins import plugin_env
from tests.speech import SENTENCES, build_recording, encode, espeak_available, silence, write_wav

pytestmark = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (scripts/system-deps.sh)")


def atlas(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atlas", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=plugin_env({**os.environ, **(env or {})}),
    )


@pytest.mark.slow
def test_bad_media_one_line_each_and_the_rest_ingests(tmp_path: Path) -> None:
    good = write_wav(build_recording([SENTENCES[10][0]], gap=1.0), tmp_path / "submarine.wav")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    not_media = tmp_path / "notes.mp3"
    not_media.write_text("these are meeting notes, not audio\n")
    silent = write_wav(silence(8.0), tmp_path / "silent.wav")
    picture_only = encode(None, tmp_path / "screen-recording.mp4", video=True)
    bad = {
        corrupt: "not a readable audio or video file",
        not_media: "not a readable audio or video file",
        silent: "no speech found",
        picture_only: "has no audio stream",
    }
    library = ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER]

    done = atlas("ingest", *map(str, bad), str(good), "--quiet", *library)

    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == len(bad), done.stderr
    for path, problem in bad.items():
        (line,) = [e for e in errors if str(path) in e]
        assert problem in line
    assert "Traceback" not in done.stderr
    listed = atlas("list", "--json", *library[:2])
    assert [v["source"] for v in json.loads(listed.stdout)] == [str(good)]


@pytest.mark.slow
def test_asr_model_names(tmp_path: Path) -> None:
    """A hub model offline is a missing dependency (exit 5) naming the bundled choices; a name faster-whisper
    does not know is bad input (exit 2). Neither touches the network (HF_HUB_OFFLINE)."""
    clip = write_wav(build_recording([SENTENCES[0][0]], gap=1.0), tmp_path / "volcano.wav")
    library = ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER, "--quiet"]
    offline = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}

    done = atlas("ingest", str(clip), "--asr", "small.en", *library, env=offline)
    assert done.returncode == 5, done.stderr
    assert "small.en" in done.stderr and "--asr tiny.en" in done.stderr and "--asr base" in done.stderr

    done = atlas("ingest", str(clip), "--asr", "tiny-typo", *library, env=offline)
    assert done.returncode == 2, done.stderr
    assert "unknown Whisper model 'tiny-typo'" in done.stderr


@pytest.mark.slow
def test_beam_width_is_chosen_on_the_command_line(tmp_path: Path) -> None:
    """`--beam 1` (greedy, the faster path) still transcribes the speech; a width out of range is refused."""
    clip = write_wav(build_recording([SENTENCES[6][0]], gap=1.0), tmp_path / "comet.wav")
    library = ["--library", str(tmp_path / "lib"), "--embedder", FAKE_EMBEDDER, "--quiet"]

    done = atlas("ingest", str(clip), "--beam", "0", *library)
    assert done.returncode == 2 and "--beam" in done.stderr, done.stderr

    done = atlas("ingest", str(clip), "--beam", "1", *library)
    assert done.returncode == 0, done.stderr
    (video,) = json.loads(atlas("list", "--json", *library[:2]).stdout)
    shown = json.loads(atlas("show", video["video_id"], "--json", *library[:2]).stdout)
    assert "jupiter" in " ".join(s["text"] for s in shown["segments"]).lower()
